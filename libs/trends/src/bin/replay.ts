import { createLogger, createServiceRuntime, errorMessage, parseCommandLineOrExit, parseConfig, usageErrorText } from '@moodstream/core';
import { describeZodError } from '@moodstream/events';
import { ReplayRequestSchema, type ReplayStatus } from '../api-types';
import type { TrendsService } from '../service';
import { createTextRescorer, registryRescorer } from '../rescore-text';
import { standaloneConfigSchema, startStandaloneTrends } from '../standalone';

const REPLAY_COMMAND = {
  command: 'npm run replay',
  summary: "re-run a topic's history into an isolated replay namespace",
  usage: '--topic T --from ISO --to ISO [--speed N|max] [--rescore] [--model DIR] [--model-version V]',
  options: {
    topic: { type: 'string', valueName: 'T', description: 'watched topic (normalised tag), or "all"' },
    from: { type: 'string', valueName: 'ISO', description: 'start of the range (ISO-8601 or epoch ms), inclusive' },
    to: { type: 'string', valueName: 'ISO', description: 'end of the range, exclusive' },
    speed: { type: 'string', valueName: 'N|max', default: '60', description: 'N× real time, or "max" for flat out' },
    rescore: { type: 'boolean', default: false, description: 're-score past Posts with the current model (text only) instead of re-reading ScoredPosts' },
    model: { type: 'string', valueName: 'DIR', description: 'model folder for --rescore (default models/default)' },
    'model-version': { type: 'string', valueName: 'V', description: 're-score with version V of the model registry (TRENDS_MODEL_REGISTRY, default models/registry; "default" is the shipped model); needs --rescore; the replay and its posts carry V' },
  },
  notes: `Reads KAFKA_BROKERS, REDIS_URL and the TRENDS_* settings from the environment. Progress goes to
stderr; the final status (JSON) to stdout. The replay's series, alerts and example posts stay in
Redis under its id (see GET /api/series?replay=ID) for TRENDS_REPLAY_RETENTION_MS.`,
  exitStatus: 'exit status: 0 done, 1 failed or a bad range or speed, 2 bad command line (unknown option, missing value), 130 stopped by a signal.',
} as const;

async function main(): Promise<number> {
  const { values: args } = parseCommandLineOrExit(REPLAY_COMMAND);
  const problems: string[] = [];
  const time = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) {
      problems.push(`--${name} is required`);
      return undefined;
    }
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isNaN(ms)) problems.push(`--${name} "${value}" is not an ISO-8601 time or epoch ms`);
    return ms;
  };
  const from = time('from', args.from);
  const to = time('to', args.to);
  if (args.topic === undefined) problems.push('--topic is required');
  if (problems.length > 0) {
    process.stderr.write(usageErrorText(REPLAY_COMMAND, problems.join('; ')));
    return 1;
  }
  const parsed = ReplayRequestSchema.safeParse({
    topic: args.topic,
    from,
    to,
    speed: args.speed === 'max' ? 'max' : args.speed,
    rescore: args.rescore,
    ...(args['model-version'] === undefined ? {} : { modelVersion: args['model-version'] }),
  });
  if (!parsed.success) {
    process.stderr.write(usageErrorText(REPLAY_COMMAND, describeZodError(parsed.error)));
    return 1;
  }
  const request = parsed.data;
  const logger = createLogger('replay', { level: process.env['LOG_LEVEL'] ?? 'warn', destination: process.stderr });
  const config = parseConfig(standaloneConfigSchema, process.env, 'replay');
  // A named version goes through the registry (checked against its versions when the replay starts); else one fixed model.
  const rescorer = request.modelVersion === undefined ? undefined : registryRescorer({ registryDir: config.TRENDS_MODEL_REGISTRY, shippedDir: args.model ?? config.TRENDS_MODEL_DIR });
  const rescore = request.rescore && rescorer === undefined ? await createTextRescorer(args.model) : undefined;
  // A finite run on the service runtime: its parts (bus, Redis, trends) close in order when the replay ends. The
  // signals are the CLI's own: the first one stops the replay (its final status is still printed), a second quits.
  const runtime = createServiceRuntime({ name: 'replay', logger, deadlineMs: config.TRENDS_SHUTDOWN_DEADLINE_MS });
  let service: TrendsService;
  try {
    service = await startStandaloneTrends(runtime, config, { consume: false, clientId: 'moodstream-replay', ...(rescore === undefined ? {} : { rescore }), ...(rescorer === undefined ? {} : { rescorer }) });
  } catch (error) {
    await runtime.close('start failed');
    throw error;
  }
  let signals = 0;
  let id: string | null = null;
  const onSignal = (): void => {
    signals += 1;
    if (signals > 1 || id === null) process.exit(130);
    process.stderr.write('\nstopping the replay (again to quit at once)…\n');
    service.stopReplay(id).catch((error: unknown) => process.stderr.write(`could not stop the replay: ${errorMessage(error)}\n`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const began = Date.now();
  let lastLine = 0;
  service.on('replay', (status: ReplayStatus) => {
    if (Date.now() - lastLine < 1_000 && status.state === 'running') return;
    lastLine = Date.now();
    process.stderr.write(`[${status.id}] ${status.state} ${(status.progress * 100).toFixed(1)}% at ${new Date(status.cursor).toISOString()} — ${status.processed} posts, ${status.alerts} alerts\n`);
  });
  try {
    id = (await service.startReplay(request)).id;
    process.stderr.write(`replay ${id}: ${request.topic} ${new Date(request.from).toISOString()} → ${new Date(request.to).toISOString()} at ${request.speed === 'max' ? 'max speed' : `${request.speed}×`}\n`);
    const final = await service.waitForReplay(id);
    process.stdout.write(`${JSON.stringify({ ...final, wallMs: Date.now() - began })}\n`);
    const code = final.state === 'done' ? 0 : final.state === 'stopped' ? 130 : 1;
    return (await runtime.close('replay finished')) === 0 ? code : 1;
  } catch (error) {
    await runtime.close('replay failed');
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`replay failed: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);

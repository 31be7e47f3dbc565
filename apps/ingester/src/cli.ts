import { ConfigError, formatHelp, parseCommandLine, splitList, type CommandSpec } from '@moodstream/core';
import { normaliseTag } from '@moodstream/events';

export type IngestMode =
  | { mode: 'live'; tags: string[] }
  | { mode: 'backfill'; tags: string[]; from: number; to: number }
  | { mode: 'archive'; file: string; speed: number | 'max' };

export interface CliOptions {
  run: IngestMode;
  record: string | null;
  help: boolean;
}

/** The ingester's command line: `npm run ingest -- <mode> …` (the one spec the help text and the parser share). */
export const INGEST_COMMAND = {
  command: 'npm run ingest',
  summary: 'moodstream ingester: Tumblr tags into Kafka',
  usage: [
    'live     [--tag T ...] [--record FILE]',
    'backfill --tag T [--tag T2 ...] --from ISO --to ISO [--record FILE]',
    'archive  --file posts.ndjson [--speed N|max] [--record FILE]',
    '--help',
  ],
  positionals: { valueName: 'MODE', description: 'live, backfill or archive (below)' },
  options: {
    tag: { type: 'string', multiple: true, valueName: 'T', description: 'a tag to read (repeat it or give a comma list); live: added to the watched topics; backfill: required' },
    from: { type: 'string', valueName: 'ISO', description: 'backfill: oldest post time to read, inclusive (e.g. 2026-11-01T00:00:00Z)' },
    to: { type: 'string', valueName: 'ISO', description: 'backfill: newest post time, exclusive (default: now)' },
    file: { type: 'string', valueName: 'FILE', description: 'archive: the NDJSON file to replay (one Post per line)' },
    speed: { type: 'string', valueName: 'N|max', description: "archive: replay speed, a positive number or 'max' (default 1)" },
    record: { type: 'string', valueName: 'FILE', description: 'any mode: also append every produced Post to FILE as NDJSON (training data: real image+text pairs with self-reported labels)' },
  },
  notes: `Modes:
  live        Polls the newest posts of every watched tag and walks back (with 'before') until the
              newest timestamp already read, so nothing is read twice or skipped. Runs until
              SIGINT/SIGTERM. Watched tags: the six emotion tags plus INGEST_TOPICS, plus any --tag.
  backfill    Walks back through a tag's history from --to down to --from (how the Deep Sentiment study
              built its data set), then exits 0. Resumes where it stopped when run again with the same
              arguments.
  archive     Replays a recorded NDJSON file of Post records onto the posts topic at --speed times real
              time (gaps between post timestamps divided by N) or as fast as possible (--speed max).
              Needs no API key.

Environment (parsed at boot; a bad value stops the ingester with a message naming it):
  TUMBLR_API_KEY            API key (OAuth consumer key). Required for live and backfill. Never logged.
  TUMBLR_API_URL            API base URL (default https://api.tumblr.com; the local stand-in for tests).
  INGEST_TOPICS             Extra watched topics, comma-separated (an event's hashtag).
  KAFKA_BROKERS             Kafka brokers, comma-separated (default 127.0.0.1:9092).
  MOODSTREAM_TOPIC_PREFIX   Prefix for the Kafka topic names.
  INGEST_STORE              Where cursors and the request budget persist: file (default), redis, memory.
  INGEST_STATE_FILE         The file store's journal (default .data/ingester-state.jsonl).
  REDIS_URL                 The redis store's server (default redis://127.0.0.1:6379).
  INGEST_REDIS_PREFIX       The redis store's key prefix (default moodstream:ingester).
  INGEST_TOPIC_REGISTRY     live: where tags added on the dashboard are re-read each poll: off (default),
                            file, redis (the distributed mode). New ones are walked next, their last hour first;
                            tags past what the request budget carries wait (docs/live-events.md).
  INGEST_TOPIC_REGISTRY_FILE      The file registry (default .data/watched-topics.json).
  INGEST_TOPIC_REGISTRY_PREFIX    The redis registry's prefix: the dashboard's TRENDS_REDIS_PREFIX
                            (default moodstream:trends).
  INGEST_MIN_ENGLISH_WORDS  Drop posts with fewer known English words (default 5; 0 keeps all).
  INGEST_BUDGET_PER_MINUTE  Requests per minute (default 300: Tumblr's per-IP limit).
  INGEST_BUDGET_PER_HOUR    Requests per hour (default 1000: Tumblr's per-key limit).
  INGEST_BUDGET_PER_DAY     Requests per day (default 5000: Tumblr's per-key limit). Token buckets never
                            exceed a limit in any window; their state persists in the store.
  INGEST_POLL_INTERVAL_MS   Least time between polls of one tag in live mode (default 60000).
  INGEST_LIVE_LOOKBACK_MS   How far back a tag's first live poll reads (default 3600000).
  INGEST_REQUEST_TIMEOUT_MS Timeout of one Tumblr request (default 15000).
  INGEST_BACKOFF_INITIAL_MS First backoff after a 5xx, a malformed answer or a 429 without Retry-After
                            (default 1000); doubles per failure with jitter, up to
  INGEST_BACKOFF_MAX_MS     (default 300000). A 429 with Retry-After waits exactly that long.
  METRICS_PORT              Port of /metrics and /healthz (default 9464; 0 picks one).
  LOG_LEVEL                 fatal, error, warn, info (default), debug, trace, silent.`,
  exitStatus: 'exit status: 0 when done (backfill, archive) or stopped by a signal; 1 on a bad key (one line on stderr), bad configuration, or a crash; 2 on a bad command line.',
} as const satisfies CommandSpec;

export const HELP = formatHelp(INGEST_COMMAND);

function parseTime(value: string, flag: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ConfigError(`${flag} must be an ISO date-time (e.g. 2026-11-01T00:00:00Z), got "${value}"`);
  return ms;
}

/** Parses the command line. Throws ConfigError with a readable message on bad input. */
export function parseCli(argv: string[], now: number = Date.now()): CliOptions {
  const parsed = parseCommandLine(INGEST_COMMAND, argv);
  if ('help' in parsed) return { run: { mode: 'live', tags: [] }, record: null, help: true };
  if ('error' in parsed) throw new ConfigError(parsed.error);
  const { values, positionals } = parsed;
  const record = values.record ?? null;
  const tags = [...new Set((values.tag ?? []).flatMap((t) => splitList(t)).map(normaliseTag).filter((t) => t.length > 0))];
  if (positionals.length !== 1) throw new ConfigError('give exactly one mode: live, backfill or archive');
  const mode = positionals[0];
  switch (mode) {
    case 'live':
      return { run: { mode, tags }, record, help: false };
    case 'backfill': {
      if (tags.length === 0) throw new ConfigError('backfill needs --tag');
      if (values.from === undefined) throw new ConfigError('backfill needs --from ISO');
      const from = parseTime(values.from, '--from');
      const to = values.to === undefined ? now : parseTime(values.to, '--to');
      if (to <= from) throw new ConfigError('--to must be after --from');
      return { run: { mode, tags, from, to }, record, help: false };
    }
    case 'archive': {
      if (values.file === undefined) throw new ConfigError('archive needs --file posts.ndjson');
      const speedText = values.speed ?? '1';
      const speed = speedText === 'max' ? 'max' : Number(speedText);
      if (speed !== 'max' && (!Number.isFinite(speed) || speed <= 0)) throw new ConfigError(`--speed must be a positive number or "max", got "${speedText}"`);
      return { run: { mode, file: values.file, speed }, record, help: false };
    }
    default:
      throw new ConfigError(`unknown mode "${mode}": use live, backfill or archive`);
  }
}

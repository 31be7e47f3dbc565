import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { sleep } from '@moodstream/core';
import { REPO_ROOT } from './paths';

/**
 * `npm start` as a child process, the way a newcomer runs it — for the launcher's test and the
 * start-up benchmark. KAFKA_BROKERS/REDIS_URL/TUMBLR_API_KEY are removed from the inherited
 * environment (npm test sets the first two for integration tests) unless `env` sets them again.
 */
export interface LauncherProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match in stdout+stderr; rejects on timeout or exit, quoting the output. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  readonly exit: Promise<number | null>;
}

export function spawnLauncher(options: { args?: string[]; env?: Record<string, string> } = {}): LauncherProcess {
  const base = { ...process.env };
  for (const name of ['KAFKA_BROKERS', 'REDIS_URL', 'TUMBLR_API_KEY']) delete base[name];
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, 'scripts/start.ts'), ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { ...base, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const append = (chunk: Buffer): void => {
    text += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return {
    child,
    output: () => text,
    exit,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match !== null) return match;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no output matching ${pattern} within ${timeoutMs} ms (exit ${child.exitCode}); output:\n${text.slice(-3000)}`);
        }
        await sleep(100);
      }
    },
  };
}

/**
 * Human progress lines for `npm start` (the apps' own logs are JSON and quiet by default):
 * "moodstream  +3.1s  loading the emotion model (models/default)…".
 */
export interface Progress {
  step(message: string): void;
  /** Milliseconds since the launcher started. */
  elapsed(): number;
}

export function createProgress(options: { write?: (line: string) => void; now?: () => number } = {}): Progress {
  const now = options.now ?? (() => performance.now());
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = now();
  return {
    step(message) {
      write(`moodstream  +${((now() - started) / 1000).toFixed(1)}s  ${message}`);
    },
    elapsed: () => now() - started,
  };
}

import { SingleBar } from 'cli-progress';

export interface ProgressBarOptions {
  stream?: NodeJS.WriteStream;
  /** Without a terminal (CI logs, a file): one line each time this many more percent are done. */
  linePercent?: number;
  /** Without a terminal: a line at least this often, so a slow step still shows it is alive. */
  lineEveryMs?: number;
}

/**
 * Progress of a training step on stderr: count, rate, elapsed and ETA. On a terminal cli-progress redraws one line;
 * elsewhere cli-progress writes whole lines — every `linePercent` % and at least every `lineEveryMs` — so a CI log
 * stays readable. Call `stop()` if the step ends early (early stopping); a step that reaches its total stops itself.
 */
export class ProgressBar {
  private readonly bar: SingleBar;
  private readonly lines: boolean;
  private readonly linePercent: number;
  private readonly startedAt = Date.now();
  private done = 0;
  private nextLineAt: number;

  constructor(label: string, total: number, options: ProgressBarOptions = {}) {
    const stream = options.stream ?? process.stderr;
    this.lines = stream.isTTY !== true;
    this.linePercent = options.linePercent ?? 10;
    this.nextLineAt = this.linePercent;
    this.bar = new SingleBar({
      stream,
      format: `${label} [{bar}] {value}/{total} {rate}/s elapsed {duration_formatted} ETA {eta_formatted} {info}`,
      barsize: 24,
      barCompleteChar: '#',
      barIncompleteChar: '.',
      stopOnComplete: true,
      // Without a terminal the final line is already a line of its own: erasing it is a no-op, a newline a blank line.
      clearOnComplete: this.lines,
      noTTYOutput: this.lines,
      notTTYSchedule: options.lineEveryMs ?? 60_000,
    });
    this.bar.start(total, 0, { rate: '0.0', info: '' });
  }

  tick(n = 1, info = ''): void {
    this.done += n;
    const rate = (this.done / Math.max((Date.now() - this.startedAt) / 1000, 1e-3)).toFixed(1);
    // Reaching the total stops the bar, which draws its final line.
    this.bar.update(this.done, { rate, info });
    if (!this.lines || !this.bar.isActive) return;
    const percent = (100 * this.done) / Math.max(1, this.bar.getTotal());
    if (percent < this.nextLineAt) return;
    this.nextLineAt = (Math.floor(percent / this.linePercent) + 1) * this.linePercent;
    this.bar.render();
  }

  /** Draws the last line and releases the bar's timer. Idempotent. */
  stop(): void {
    this.bar.stop();
  }
}

/** A progress bar with rate and ETA on stderr (one line per 5 s when stderr is not a terminal). */
export class ProgressBar {
  private readonly start = Date.now();
  private lastPrint = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  tick(n = 1, info = ''): void {
    this.done += n;
    const now = Date.now();
    const finished = this.done >= this.total;
    if (!finished && now - this.lastPrint < (this.stream.isTTY ? 200 : 5000)) return;
    this.lastPrint = now;
    const elapsed = (now - this.start) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-3);
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    const width = 24;
    const filled = Math.round((width * Math.min(this.done, this.total)) / Math.max(1, this.total));
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${rate.toFixed(1)}/s elapsed ${fmt(elapsed)} ETA ${fmt(eta)} ${info}`;
    if (this.stream.isTTY) this.stream.write(`\r${line}\x1b[K${finished ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}

function fmt(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

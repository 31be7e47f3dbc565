/**
 * The soak's own bookkeeping of ingest→dashboard latency. It runs inside the process it measures (the embedded
 * mode), so it must not grow with the run: the first version kept every post's send time and every latency as an
 * object for the whole run, ~0.7 MB a minute of live heap in the measured process (found by diffing heap snapshots
 * at minutes 17 and 24; test/soak-latency.test.ts).
 */

/** Send times are kept this long after their minute: a post counted later than this gets no latency (the backlog still shows it). */
const KEEP_SENDS_MS = 10 * 60_000;
/** The overall quantiles come from a histogram of this resolution, up to this bound (longer ones count as the bound). */
const BIN_MS = 10;
const MAX_MS = 10 * 60_000;

export class LatencyLog {
  /** Per event-time minute: the send time of each post, in order (the last KEEP_SENDS_MS only). */
  private readonly sentAt = new Map<number, number[]>();
  /** Per event-time minute: the highest count the dashboard pushed (one number a minute). */
  private readonly seenCount = new Map<number, number>();
  private recent: number[] = [];
  private readonly histogram = new Float64Array(MAX_MS / BIN_MS + 1);
  private total = 0;
  private counts = 0;

  sent(minuteStart: number, count: number, at: number): void {
    let sends = this.sentAt.get(minuteStart);
    if (sends === undefined) {
      this.sentAt.set(minuteStart, (sends = []));
      for (const minute of this.sentAt.keys()) if (minute < minuteStart - KEEP_SENDS_MS) this.sentAt.delete(minute);
    }
    for (let i = 0; i < count; i++) sends.push(at);
  }

  /** The dashboard pushed `count` for the minute starting at `minuteStart`. */
  seen(minuteStart: number, count: number, now: number): void {
    const before = this.seenCount.get(minuteStart) ?? 0;
    if (count <= before) return;
    const sends = this.sentAt.get(minuteStart) ?? [];
    for (let k = before; k < Math.min(count, sends.length); k++) {
      const ms = now - (sends[k] ?? now);
      this.recent.push(ms);
      this.histogram[Math.min(this.histogram.length - 1, Math.max(0, Math.round(ms / BIN_MS)))]! += 1;
      this.total++;
    }
    this.counts += count - before;
    this.seenCount.set(minuteStart, count);
  }

  counted(): number {
    return this.counts;
  }

  /** Latencies recorded since the last call, sorted. */
  takeRecent(): number[] {
    const recent = this.recent.sort((a, b) => a - b);
    this.recent = [];
    return recent;
  }

  /** The q-quantile of every latency recorded (to BIN_MS), null before the first. */
  quantile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.min(this.total - 1, Math.floor(q * this.total));
    let seen = 0;
    for (let bin = 0; bin < this.histogram.length; bin++) {
      seen += this.histogram[bin] as number;
      if (seen > rank) return bin * BIN_MS;
    }
    return MAX_MS;
  }

  /** Entries held (send times and latencies not yet taken): what this log costs the process it measures. */
  retained(): number {
    let sends = 0;
    for (const list of this.sentAt.values()) sends += list.length;
    return sends + this.recent.length;
  }
}

import type { PartitionPosition } from '@moodstream/bus';

/**
 * The live event-time watermark of a consumer that reads several partitions: the minimum over its assigned
 * partitions of each one's newest delivered event time, as Kafka Streams and Flink keep it.
 *
 * - A partition that has records still undelivered but has handed over none yet holds the watermark where it is:
 *   when history is produced in one burst, the first partition's batch can span half an hour while the others'
 *   records of that half hour have not been delivered (the burst case), so one partition alone must not close windows.
 * - A partition that is caught up and has not advanced for `idleTimeoutMs` (wall clock) is idle: it stops holding the
 *   watermark back, so one quiet partition does not stall every window. When all are idle the caller's clock-driven
 *   idle advance takes over.
 *
 * Windows therefore close once the slowest busy partition passes them, whatever the total lag under constant traffic.
 */
export class PartitionWatermark {
  /** When (clock) each partition's newest event time last moved, or it was first seen. */
  private readonly lastMoved = new Map<string, { newest: number | null; at: number }>();
  /** Set by `unreachable`: the next successful read starts every partition's idle clock afresh. */
  private restartIdleClocks = false;

  constructor(private readonly idleTimeoutMs: number) {}

  /**
   * The positions could not be read (the broker is down, or the group is rebalancing): while they cannot be seen,
   * no partition can be seen caught up, so quiet time spent in an outage must not make a partition idle. Without
   * this, every partition had been "quiet" for the whole outage when the broker came back, and the first partition
   * to receive the upstream backlog closed windows the others' backlog had not reached yet (alerts decided on
   * incomplete windows; the posts themselves still counted, within the allowed lateness).
   */
  unreachable(): void {
    this.restartIdleClocks = true;
  }

  /** How far event time has surely progressed over these partitions at `now`; null when it must not move. */
  candidate(positions: readonly PartitionPosition[], now: number): number | null {
    let min = Infinity;
    const seen = new Set<string>();
    if (this.restartIdleClocks) {
      this.restartIdleClocks = false;
      for (const entry of this.lastMoved.values()) entry.at = now;
    }
    for (const position of positions) {
      const key = `${position.topic}:${position.partition}`;
      seen.add(key);
      const previous = this.lastMoved.get(key);
      if (previous === undefined || previous.newest !== position.newestTimestamp) this.lastMoved.set(key, { newest: position.newestTimestamp, at: now });
      const since = this.lastMoved.get(key)?.at ?? now;
      if (position.undelivered > 0) {
        if (position.newestTimestamp === null) return null;
        min = Math.min(min, position.newestTimestamp);
        continue;
      }
      if (now - since >= this.idleTimeoutMs) continue;
      if (position.newestTimestamp === null) return null;
      min = Math.min(min, position.newestTimestamp);
    }
    for (const key of [...this.lastMoved.keys()]) if (!seen.has(key)) this.lastMoved.delete(key);
    return min === Infinity ? null : min;
  }
}

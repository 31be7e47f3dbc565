import type { PartitionPosition } from '@moodstream/bus';
import type { TrendsStore } from './store';

/** Positions older than this are of no use to anyone (an owner republishes its partitions every batch and tick). */
const POSITION_TTL_MS = 86_400_000;

/**
 * Scale-out of the live aggregator: several processes in one consumer group share the scored topic's partitions and
 * write the same aggregates (the store dedupes per post and topic, so who writes what does not matter). Alerts are
 * different: a window must be decided once, on complete buckets, by a detector whose memory (baselines, streaks,
 * cooldowns) saw every earlier window. The rule:
 *
 * - The member that holds **partition 0** of the scored topic decides alerts (evaluates windows, keeps and persists
 *   the detector state); the others aggregate only. Kafka gives partition 0 to exactly one member at a time.
 * - Every member publishes the positions of its partitions (newest event time written, records undelivered) to the
 *   store after each batch; the owner's watermark is the PartitionWatermark over **all** partitions of the topic —
 *   its own fresh, the others' as published, a partition nobody published holding it back — so a window is decided
 *   only once every partition's writes passed its end + settle, as one process would.
 * - When partition 0 moves (a rebalance, a crash), the new owner reloads the detector state the previous one
 *   persisted after its last window; alert ids are deterministic and stored once (SET NX), so a window two owners
 *   decide during a handover still yields one alert.
 *
 * One process holds every partition: it is the owner and its watermark is what it was before scale-out.
 */
export class AlertOwnership {
  private owns = true;

  constructor(
    private readonly store: TrendsStore,
    private readonly ns: string,
    /** The scored topic (logical name, as positions carry it). */
    private readonly topic: string,
  ) {}

  /** Whether this member decides alerts (true without a consumer: embedded ingest and tests). */
  get owner(): boolean {
    return this.owns;
  }

  /** Takes this member's current partitions; true when it just became the owner (reload the detector state). */
  update(own: readonly PartitionPosition[]): boolean {
    const was = this.owns;
    this.owns = own.some((p) => p.topic === this.topic && p.partition === 0);
    return this.owns && !was;
  }

  private stateName(partition: number): string {
    return `partition:${this.topic}:${partition}`;
  }

  /** Publishes this member's partitions once its batch is written (what the owner's watermark reads). */
  async publish(own: readonly PartitionPosition[]): Promise<void> {
    await Promise.all(
      own
        .filter((p) => p.topic === this.topic)
        .map((p) => this.store.setState(this.ns, this.stateName(p.partition), JSON.stringify({ newestTimestamp: p.newestTimestamp, undelivered: p.undelivered }), POSITION_TTL_MS)),
    );
  }

  /**
   * Every partition of the topic: this member's own positions, the others' as last published; a partition no
   * member published yet counts as undelivered with nothing handed over (it holds the watermark).
   */
  async groupPositions(own: readonly PartitionPosition[], partitions: number): Promise<PartitionPosition[]> {
    const mine = new Set(own.filter((p) => p.topic === this.topic).map((p) => p.partition));
    const others = Array.from({ length: partitions }, (_, partition) => partition).filter((partition) => !mine.has(partition));
    const published = await Promise.all(others.map((partition) => this.store.getState(this.ns, this.stateName(partition))));
    const list: PartitionPosition[] = [...own];
    others.forEach((partition, i) => {
      const raw = published[i];
      const parsed = raw === null || raw === undefined ? null : (JSON.parse(raw) as { newestTimestamp: number | null; undelivered: number });
      list.push({ topic: this.topic, partition, newestTimestamp: parsed?.newestTimestamp ?? null, undelivered: parsed?.undelivered ?? 1 });
    });
    return list;
  }
}

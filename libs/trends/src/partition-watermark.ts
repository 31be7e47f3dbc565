/**
 * The live event-time watermark of a consumer that reads several partitions, one batch of one partition at a time.
 *
 * Each partition holds the watermark back at its newest post time (a partition behind another is not dropped
 * as late). A partition that has not handed over anything yet has no newest time, yet may hold a backlog —
 * when history is produced in one burst, the first partition's batch can span half an hour while the others'
 * records of that half hour have not been delivered. The consumer only tells the total lag, not where it is, so
 * while any record is still undelivered the watermark does not move: windows close once what was produced has
 * been delivered, never on one partition's records alone.
 */
export class PartitionWatermark {
  private readonly highs = new Map<string, number>();

  /** Notes the newest post time of each partition in a batch. */
  observe(records: readonly { topic: string; partition: number; value: { timestamp: number } }[]): void {
    for (const record of records) {
      const key = `${record.topic}:${record.partition}`;
      if (record.value.timestamp > (this.highs.get(key) ?? -Infinity)) this.highs.set(key, record.value.timestamp);
    }
  }

  /**
   * How far event time has surely progressed, given how many records are still undelivered beyond the batch
   * just observed; null when it must not move.
   */
  candidate(undelivered: number): number | null {
    if (undelivered > 0 || this.highs.size === 0) return null;
    return Math.min(...this.highs.values());
  }
}

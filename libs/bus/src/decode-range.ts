import type { EventOf, EventTypeName } from '@moodstream/events';
import { decodeEvent } from './codec';
import type { BusRecord, RawBusRecord, TimeRangeOptions } from './types';

/** Turns raw record batches into parsed ones; a record that fails parsing is reported and skipped. */
export async function* decodeRange<N extends EventTypeName>(
  raw: AsyncIterable<RawBusRecord[]>,
  options: TimeRangeOptions<N>,
): AsyncIterable<BusRecord<EventOf<N>>[]> {
  for await (const batch of raw) {
    const decoded: BusRecord<EventOf<N>>[] = [];
    for (const record of batch) {
      const result = decodeEvent(options.eventType, record.value, record.headers);
      if (result.ok) decoded.push({ ...record, value: result.value });
      else options.onInvalid?.(result.reason);
    }
    if (decoded.length > 0) yield decoded;
  }
}

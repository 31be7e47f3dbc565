import type { EventTypeName } from '@moodstream/events';
import { encodeEvent } from './codec';
import type { EventInput, OutgoingMessage, RawMessage } from './types';

/**
 * What `Producer.send` hands to `sendRaw` on either bus: each event validated and encoded, its type and schema-version
 * headers added to the caller's. The whole list is encoded first, so nothing of a list with one bad event is produced.
 */
export function encodeMessages<N extends EventTypeName>(type: N, messages: OutgoingMessage<EventInput<N>>[]): RawMessage[] {
  return messages.map((message) => {
    const event = encodeEvent(type, message.value);
    return {
      key: message.key,
      value: event.value,
      ...(message.timestamp === undefined ? {} : { timestamp: message.timestamp }),
      headers: { ...message.headers, ...event.headers },
    };
  });
}

import { io, type Socket } from 'socket.io-client';
import {
  SERVER_EVENT_SCHEMAS,
  describeZodError,
  type ClientToServerEvents,
  type ServerEventName,
  type ServerEventPayload,
} from '@moodstream/events';
import { recordRejection } from './contract-log';

/** What arrives off the wire: every payload is unknown until its schema has passed it (see onServerEvent). */
type UncheckedServerEvents = { [E in ServerEventName]: (payload: unknown) => void };

export type DashboardSocket = Socket<UncheckedServerEvents, ClientToServerEvents>;

let shared: DashboardSocket | null = null;

/** One connection per page, opened on first use (never during server rendering). */
export function getSocket(): DashboardSocket {
  if (shared === null) {
    shared = io({ path: '/socket.io', transports: ['websocket', 'polling'], reconnectionDelayMax: 5_000 });
  }
  return shared;
}

/**
 * Listens for a server event, handing on only payloads that match its schema. A mismatching one is logged and
 * described to `onInvalid` instead, for the caller's error state. Returns the function that stops listening.
 */
export function onServerEvent<E extends ServerEventName>(
  socket: DashboardSocket,
  event: E,
  onValid: (payload: ServerEventPayload<E>) => void,
  onInvalid: (message: string) => void,
): () => void {
  const schema = SERVER_EVENT_SCHEMAS[event];
  const listener = (payload: unknown): void => {
    const parsed = schema.safeParse(payload);
    if (parsed.success) {
      onValid(parsed.data as ServerEventPayload<E>);
      return;
    }
    const problem = describeZodError(parsed.error);
    recordRejection(`socket.io ${event}`, problem);
    onInvalid(`a live ${event} update is not what this page expects (${problem})`);
  };
  // Widened to every event name: socket.io's listener types cannot be resolved for a generic one.
  const name: ServerEventName = event;
  socket.on(name, listener);
  return () => {
    socket.off(name, listener);
  };
}

/**
 * A view fed by a snapshot and pushes: listens for `event` (as onServerEvent) and calls `refresh` now and on every
 * reconnect — a push sent while the socket was down reached no one, so only a fresh snapshot shows what was missed.
 * Returns the function that stops both.
 */
export function followServerEvent<E extends ServerEventName>(
  socket: DashboardSocket,
  event: E,
  handlers: { onPush: (payload: ServerEventPayload<E>) => void; onInvalid: (message: string) => void; refresh: () => void },
): () => void {
  const stopPushes = onServerEvent(socket, event, handlers.onPush, handlers.onInvalid);
  socket.on('connect', handlers.refresh);
  handlers.refresh();
  return () => {
    stopPushes();
    socket.off('connect', handlers.refresh);
  };
}

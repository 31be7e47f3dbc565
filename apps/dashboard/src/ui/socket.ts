import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '@moodstream/trends';

export type DashboardSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let shared: DashboardSocket | null = null;

/** One connection per page, opened on first use (never during server rendering). */
export function getSocket(): DashboardSocket {
  if (shared === null) {
    shared = io({ path: '/socket.io', transports: ['websocket', 'polling'], reconnectionDelayMax: 5_000 });
  }
  return shared;
}

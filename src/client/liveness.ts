import WebSocket from 'ws'

/** Every connection is pinged this often... */
export const PING_INTERVAL_MS = 15_000
/** ...and is gone when nothing (no frame, no pong) was heard from it for this long. */
export const DEAD_AFTER_MS = 30_000

/**
 * One liveness check of a socket: terminate it when nothing was heard for
 * `deadAfterMs`, otherwise ping it. Shared by the server (all inbound
 * connections) and the link (its one outbound socket).
 */
export function checkAlive(ws: WebSocket, lastSeenMs: number, nowMs: number, deadAfterMs = DEAD_AFTER_MS): void {
  if (nowMs - lastSeenMs > deadAfterMs) ws.terminate()
  else if (ws.readyState === WebSocket.OPEN) ws.ping()
}

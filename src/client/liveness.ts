import WebSocket from 'ws'

import {DEAD_AFTER_MS} from '../protocol/defaults.js'

/**
 * One liveness check of a socket: terminate it when nothing was heard for
 * `deadAfterMs`, otherwise ping it. Shared by the server (all inbound
 * connections) and the link (its one outbound socket).
 */
export function checkAlive(ws: WebSocket, lastSeenMs: number, nowMs: number, deadAfterMs = DEAD_AFTER_MS): void {
  if (nowMs - lastSeenMs > deadAfterMs) ws.terminate()
  else if (ws.readyState === WebSocket.OPEN) ws.ping()
}

import WebSocket from 'ws'
import {CLOSE_WAIT_MS} from '../protocol/defaults.js'

/**
 * Closes `ws` with `code` and `reason` and resolves once it is closed; a peer
 * that does not answer the close frame within `waitMs` is cut off. The one
 * graceful close of the server, the link and the load clients.
 */
export function closeGracefully(ws: WebSocket, code = 1000, reason = '', waitMs = CLOSE_WAIT_MS): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => ws.terminate(), waitMs)
    kill.unref()
    ws.once('close', () => {
      clearTimeout(kill)
      resolve()
    })
    if (ws.readyState === WebSocket.OPEN) ws.close(code, reason)
  })
}

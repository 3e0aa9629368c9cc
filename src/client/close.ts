import type {Duplex} from 'node:stream'
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

/** Where an accepted socket keeps its WebSocket, for {@link onSocketFinished} (one listener serves every socket, called with the socket as `this`). */
const SOCKET_WS = Symbol('peerlink.ws')
/**
 * ws's own record of the peer's close frame, and its frame parser (a
 * Writable): not in its types, used by {@link onSocketFinished} alone
 */
type ClosingSocket = Duplex & {[SOCKET_WS]?: WebSocket & {_closeFrameReceived?: boolean; _receiver?: {end: () => unknown}}}

/**
 * For a WebSocket a server accepted on `socket`: once the close handshake is
 * done, the connection goes at once. ws ends the socket when both close
 * frames went (or after its own close frame for a protocol error) and then
 * waits for the client's FIN, up to its 30 s close timer for a client that
 * never sends one. The client may send nothing after its close frame (RFC
 * 6455 §5.5.1), and the server's FIN has left (`finish` comes after the
 * shutdown), so closing then loses nothing. It also spares ws's 'end'
 * handling, which ends two streams that had ended already, and Node makes an
 * Error with a stack trace for each: 6 % of a node's CPU in the profile of a
 * 30 000-client load test. After a protocol error (no close frame from the
 * client, which may still be sending) ws's lingering close stays: closing
 * then could reset the connection before the client read why it was closed
 * (1007, 1009). Used by every WebSocket endpoint a node serves.
 */
export function releaseAfterCloseHandshake(ws: WebSocket, socket: Duplex): void {
  ;(socket as ClosingSocket)[SOCKET_WS] = ws
  socket.on('finish', onSocketFinished)
}

function onSocketFinished(this: ClosingSocket): void {
  const ws = this[SOCKET_WS]
  if (ws?._closeFrameReceived !== true) return
  // ws's parser ended itself at the close frame, and ws ends it once more
  // when the socket closes: a no-op for a stream that has ended, except that
  // Node makes an Error with a stack trace (ERR_STREAM_ALREADY_FINISHED) to
  // throw away, 4-7 µs each, the largest part of a connection's close in a
  // node's profile (30 000 clients, ack delay 0). Here it is a no-op.
  if (ws._receiver) ws._receiver.end = endedAlready
  this.destroy()
}

/** What `end()` does on a stream that has ended already: nothing. */
function endedAlready(this: unknown): unknown {
  return this
}

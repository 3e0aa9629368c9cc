import WebSocket from 'ws'
import {authHeaders, type DialOptions} from './dial-options.js'
import {noteContext} from './wire-errors.js'

export {authHeaders, type DialOptions} from './dial-options.js'

/** Opening handshakes not done within this time fail (ws's `handshakeTimeout`). */
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 10_000

/**
 * The ws client options every peerlink client dials with (token header, CA,
 * certificate check, payload limit, handshake timeout, no compression).
 * Shared by {@link dial} and the load tester, which builds them once and
 * adds a `localAddress` per client.
 */
export function wsClientOptions(opts: DialOptions = {}): WebSocket.ClientOptions {
  return {
    headers: {...authHeaders(opts.token), ...opts.headers},
    ca: opts.ca,
    rejectUnauthorized: !opts.insecure,
    maxPayload: opts.maxPayloadBytes,
    localAddress: opts.localAddress,
    handshakeTimeout: opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT,
    perMessageDeflate: false,
  }
}

/**
 * Opens a WebSocket to `url` with the shared client options. A refused upgrade
 * surfaces as ws's own `error` event ("Unexpected server response: 401"),
 * which {@link describeError} turns into a readable line; an error before the
 * socket opened is noted with the URL, the timeout and whether a CA was
 * given, so that the line can say more (a TLS hint, which timeout).
 */
export function dial(url: string, opts: DialOptions = {}): WebSocket {
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT
  const ws = new WebSocket(url, wsClientOptions(opts))
  let opened = false
  ws.once('open', () => {
    opened = true
  })
  // registered first, so it runs before the caller's own 'error' listener
  ws.on('error', (err) => {
    if (!opened) noteContext(err, {url, ca: opts.ca !== undefined, timeoutMs: handshakeTimeoutMs, beforeAnswer: true})
  })
  return ws
}

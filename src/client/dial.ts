import WebSocket from 'ws'

/** How a client reaches a node: shared by the peer link and every client command. */
export interface DialOptions {
  /** bearer token sent with the upgrade (and every HTTP call) when set */
  token?: string
  /** PEM of a CA to trust for wss/https */
  ca?: string | Buffer
  /** accept any certificate (testing only) */
  insecure?: boolean
  maxPayloadBytes?: number
  /** local address to bind (the load tester spreads over 127.0.0.x) */
  localAddress?: string
  /** extra headers for the upgrade */
  headers?: Record<string, string>
  handshakeTimeoutMs?: number
}

/** Headers carrying the token, for WebSocket upgrades and HTTP calls alike. */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? {authorization: `Bearer ${token}`} : {}
}

/**
 * Opens a WebSocket to `url` with the shared client options. A refused upgrade
 * surfaces as ws's own `error` event ("Unexpected server response: 401"),
 * which {@link describeError} turns into a readable line.
 */
export function dial(url: string, opts: DialOptions = {}): WebSocket {
  const ws = new WebSocket(url, {
    headers: {...authHeaders(opts.token), ...opts.headers},
    ca: opts.ca,
    rejectUnauthorized: !opts.insecure,
    maxPayload: opts.maxPayloadBytes,
    localAddress: opts.localAddress,
    handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
    perMessageDeflate: false,
  })
  return ws
}

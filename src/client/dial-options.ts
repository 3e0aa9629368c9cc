/**
 * How a client reaches a node, without the WebSocket library: the HTTP
 * commands (`echo`, `clients`, `time`) need these and nothing of ws.
 */

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


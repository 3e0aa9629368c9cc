export {openFileLimit} from '../client/process-limits.js'

/** File descriptors kept free for everything that is not an inbound connection (peer links, files, DNS, HTTP calls). */
export const FD_RESERVE = 64

/**
 * Inbound sockets kept free, under the socket cap, for what must still work
 * when the WebSockets have taken the rest: `/healthz`, `/stats`, and a 503
 * with Retry-After to each new upgrade instead of a reset.
 */
export const HTTP_RESERVE = 32

/**
 * How many inbound connections a server may hold under an open-file limit:
 * the limit less a reserve (at most a quarter of it), so that the node refuses
 * new connections cleanly instead of running into EMFILE everywhere.
 */
export function maxConnectionsFor(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined
  return Math.max(1, limit - Math.min(FD_RESERVE, Math.floor(limit / 4)))
}

/**
 * How many of those may be WebSockets: the socket cap less
 * {@link HTTP_RESERVE} (at most an eighth of the limit), so that a node full
 * of WebSockets still answers HTTP and says 503 to the next upgrade.
 */
export function webSocketCapFor(limit: number | undefined): number | undefined {
  const sockets = maxConnectionsFor(limit)
  if (limit === undefined || sockets === undefined) return undefined
  return Math.max(1, sockets - Math.min(HTTP_RESERVE, Math.floor(limit / 8)))
}

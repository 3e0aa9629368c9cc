/**
 * Defaults and fixed numbers every room of peerlink shares: the node, its
 * peer links and the client commands. Pure constants, so that a client
 * command can name a default without loading the node.
 */

/** The WebSocket endpoint of every node. */
export const WS_PATH = '/ws'
/**
 * The WebSocket subprotocol name of peerlink's frames (docs/protocol.md). A
 * client may offer it in Sec-WebSocket-Protocol and the node selects it; a
 * client that offers none is served the same. No other name is ever selected.
 */
export const SUBPROTOCOL = 'peerlink.v1'

export const HOST_DEFAULT = '127.0.0.1'
export const PORT_DEFAULT = 8080
/** Wait before a node's first dial of its peers. */
export const GRACE_MS_DEFAULT = 3000
/** An own message not acknowledged within this time makes its link reconnect and resend. */
export const ACK_TIMEOUT_MS_DEFAULT = 5000
/** Delay before a final receiver answers `ok Y`. */
export const ACK_DELAY_MS_DEFAULT = 0
/** At end of input, wait at most this long for acknowledgements. */
export const DRAIN_TIMEOUT_MS_DEFAULT = 10_000
/** Largest frame a node accepts; larger ones close the connection with 1009. */
export const MAX_PAYLOAD_BYTES_DEFAULT = 1024 * 1024

/** A resent message seen again within this window is acknowledged at once and shown once. */
export const SEEN_TTL_MS = 60_000

/** Every connection is pinged this often... */
export const PING_INTERVAL_MS = 15_000
/** ...and is gone when nothing (no frame, no pong) was heard from it for this long. */
export const DEAD_AFTER_MS = 30_000

/** A socket that does not answer a close frame within this time is cut off. */
export const CLOSE_WAIT_MS = 2000

/** Nodes and load-agents with the same cluster name on one NATS work together (`--cluster-name`). */
export const CLUSTER_NAME_DEFAULT = 'peerlink'

/**
 * The `node:diagnostics_channel` a node publishes each WebSocket connection
 * it accepts on, so that its heap settings (src/cli/heap.ts, loaded before
 * the node) can tell a burst of connections from traffic on a few.
 */
export const CONNECTION_OPENED_CHANNEL = 'peerlink:connection-opened'

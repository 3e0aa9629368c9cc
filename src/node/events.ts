/**
 * Everything a node reports. The node never prints: a renderer turns these
 * into text lines or NDJSON (`--json` adds `ts` and `node` to each).
 */
export type NodeEvent =
  | {event: 'listening'; url: string; host: string; port: number}
  | {event: 'peer_connected'; peer: string; url: string}
  | {event: 'peer_disconnected'; peer: string; url: string; reason: string; retry_in_ms?: number; dropped?: true}
  | {event: 'client_connected'; id: string; name: string; role: 'node' | 'client'; ip: string; port: number}
  | {event: 'client_disconnected'; id: string; name: string; role: 'node' | 'client'; code: number; reason: string}
  | {event: 'message_received'; from: string; text: string; repeat?: boolean}
  | {event: 'message_relayed'; from: string; text: string; to: string}
  | {event: 'message_sent'; text: string; to: string; attempt: number}
  | {event: 'message_acked'; text: string; to: string; rtt_ms: number}
  | {event: 'message_failed'; text: string; to: string; reason: string}
  | {event: 'cluster_joined'; cluster: string; url: string}
  | {event: 'cluster_lost'; cluster: string; url: string; reason: string; retry_in_ms: number}
  /** another member of the cluster (`member`: its name; `node` is the writer of every NDJSON line) */
  | {event: 'cluster_node_up'; member: string; reason: string}
  | {event: 'cluster_node_down'; member: string; reason: string}
  | {event: 'error'; msg: string; kind?: ErrorKind}
  | {event: 'info'; topic: string; msg?: string; data?: unknown}
  | {event: 'stopped'; code: number}

export type NodeEventName = NodeEvent['event']

/**
 * What an `error` event is about, for counting (`peerlink_errors_total{kind}`):
 * `bad_frame` a frame this node refused, `remote` an `error` frame a client or
 * peer sent, `accept` connections refused at the open-file limit, `registry`
 * trouble with the registry, `too_slow` a connection closed with 1008
 * because its reader fell too far behind (`--max-buffer`).
 */
export type ErrorKind = 'bad_frame' | 'remote' | 'accept' | 'registry' | 'too_slow'

/**
 * How much of the high-rate event streams a listener needs: `message_relayed`
 * (one event per relayed message is most of a busy node's work beyond the
 * relaying itself), and `client_connected` / `client_disconnected` of
 * clients (each reads the remote address, a system call, and a load test
 * opens thousands a second). `every` one (`--json`, an open console page),
 * a `sampled` few a second (the text renderer, which shows at most that many
 * and folds the rest into counts read from the node, {@link FoldedTotals}),
 * or `none` (metrics, which read the counts). The node reports the most any
 * listener needs; the counts are kept all the same. Peer nodes' connections
 * are always reported.
 */
export type RelayEvents = 'every' | 'sampled' | 'none'

/**
 * With sampled events (the text renderer), at most this many
 * `message_relayed` events are reported a second, and as many
 * `client_connected` and `client_disconnected` of clients; the text renderer
 * shows that many lines a second of them and folds the rest into counts.
 */
export const RELAYED_SAMPLES_PER_SECOND = 10

/** The high-rate events so far, reported or not: what a renderer of sampled events folds (see {@link RelayEvents}). */
export interface FoldedTotals {
  /** every `message_relayed` */
  relayed: number
  /** clients (not peer nodes) that connected */
  connected: number
  /** clients that disconnected */
  disconnected: number
}

import {encodeFrame} from '../protocol/frame.js'
import type {NodeEvent} from './events.js'
import {Relay, type Chooser} from './relay.js'

/**
 * Anything the relay hands messages to or takes them from: a client
 * connection, or (clustered) another member of the cluster.
 */
export interface Endpoint {
  /** how events name it: a connection's name, `node/conn` for a remote receiver */
  readonly name: string
  /** fully open: not connecting, and no close frame sent or received */
  readonly isOpen: boolean
  send(text: string): void
}

/**
 * Where a message can go: the seam the cluster plugs into (docs/architecture.md).
 * The default is this node's own connections.
 */
export interface RelayFabric<E extends Endpoint> {
  /** see {@link Chooser}: picks the receiver of a message waited for by `origin` */
  choose: Chooser<E>
}

/** Messages one connection may have waiting for an ok by default; past it the node answers `error` and does not forward. */
export const MAX_PENDING_PER_CONNECTION_DEFAULT = 10_000

export interface ClientRelayOptions<E extends Endpoint> {
  report: (ev: NodeEvent) => void
  fabric?: RelayFabric<E>
  /** messages one endpoint may have waiting at once (a client that never sees its oks cannot grow the node without bound) */
  maxPendingPerConnection?: number
  /** uniform random number in [0, 1), replaceable in tests */
  random?: () => number
}

/**
 * The relay for client connections (docs/protocol.md §3): `message X` from a client is
 * forwarded to a uniformly random open connection and its origin remembered;
 * `ok X` from a receiver goes to every origin waiting for X; a receiver that
 * closes before answering hands its messages on. Peer nodes' links are never
 * origins nor receivers here.
 */
export class ClientRelay<E extends Endpoint> {
  readonly relay: Relay<E>
  private readonly report: (ev: NodeEvent) => void
  private readonly maxPending: number

  constructor(opts: ClientRelayOptions<E>) {
    this.report = opts.report
    this.maxPending = opts.maxPendingPerConnection ?? MAX_PENDING_PER_CONNECTION_DEFAULT
    this.relay = new Relay<E>((e) => e.isOpen, opts.random, opts.fabric?.choose)
  }

  /** Relay entries waiting for an ok. */
  get pending(): number {
    return this.relay.pending
  }

  /** A client connection opened (or a connection turned out to be a client): it may be picked from now on. */
  add(e: E): void {
    this.relay.add(e)
  }

  /** An endpoint left (closed, or turned out to be a peer node): its messages are handed on. */
  remove(e: E): void {
    for (const {to, text} of this.relay.remove(e)) this.forward(e, to, text)
  }

  /** `message text` from `from`. */
  message(from: E, text: string): void {
    if (this.relay.waitingFor(from) >= this.maxPending) {
      from.send(encodeFrame({verb: 'error', text: `too many messages waiting for their ok (at most ${this.maxPending} per connection): this one was not forwarded, send it again later`}))
      return
    }
    const to = this.relay.message(from, text)
    if (to !== undefined) this.forward(from, to, text)
  }

  /** `ok text` from `from`: every origin waiting for it gets it, unless `from` was never handed it. */
  ok(from: E, text: string): void {
    const origins = this.relay.ok(from, text)
    if (origins === undefined) {
      from.send(encodeFrame({verb: 'error', text: 'ok for a message this connection was not handed: only its receiver may acknowledge it'}))
      return
    }
    for (const origin of origins) origin.send(`ok ${text}`)
  }

  private forward(from: E, to: E, text: string): void {
    to.send(`message ${text}`)
    this.report({event: 'message_relayed', from: from.name, text, to: to.name})
  }
}

import {encodeFrame} from '../protocol/frame.js'
import {RELAYED_SAMPLES_PER_SECOND, type NodeEvent, type RelayEvents} from './events.js'
import {PerSecond} from './once-per.js'
import {Relay, slotStore, type Chooser, type RelaySlot} from './relay.js'

/**
 * Anything the relay hands messages to or takes them from: a client
 * connection, or (clustered) another member of the cluster.
 */
export interface Endpoint extends RelaySlot {
  /** how events name it: a connection's name, `node/conn` for a remote receiver */
  readonly name: string
  /** fully open: not connecting, and no close frame sent or received */
  readonly isOpen: boolean
  /**
   * more is waiting to be written to it than it should have (its reader is
   * slow): picked as a receiver only when no open connection is free of that
   */
  readonly congested?: boolean
  send(text: string): void
  /**
   * Set only on a connection: sends the bytes of a frame as it arrived (valid
   * UTF-8: `message X` or `ok X`), so that the relay passes a frame on without
   * decoding and encoding it again.
   */
  sendFrame?(bytes: Buffer): void
  /**
   * Set only on another member of a cluster: takes `message text` on behalf of
   * the origin named `fromName` and reports who received it itself (it knows
   * the remote connection; the relay does not). Absent on a connection, so the
   * relay's forward stays one send and one event.
   */
  hand?(text: string, fromName: string): void
}

/** A cluster's view for `GET /stats`: live members (this one included) and the sums of their counts. */
export interface FabricStats {
  name: string
  nodes: number
  connections: number
  pending: number
}

/**
 * Where a message can go: the seam the cluster plugs into (docs/architecture.md).
 * The default is this node's own connections.
 */
export interface RelayFabric<E extends Endpoint> {
  /** see {@link Chooser}: picks the receiver of a message waited for by `origin` (an arrow function: it is called unbound) */
  choose: Chooser<E>
  /** given once, by the relay that uses this fabric: where other members' messages and oks go in */
  attach?(relay: ClientRelay<E>, report: (ev: NodeEvent) => void): void
  /** X has no receiver anywhere (see the Relay's `stranded`): an arrow function, called unbound */
  stranded?: (text: string, origins: readonly E[]) => void
  /** the relay's count of local connections changed (a connection opened or left; never called per frame) */
  changed?(): void
  /** joins (in the background: a fabric that cannot reach its bus serves local connections meanwhile) */
  start?(): Promise<void>
  /** leaves; what this node held for others is re-forwarded by them */
  stop?(): Promise<void>
  /** what `GET /stats` shows as `cluster` */
  stats?(): FabricStats
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
  /** how much of the `message_relayed` stream is reported (see {@link RelayEvents}; the node sets it by who listens) */
  relayEvents: RelayEvents = 'every'
  private readonly report: (ev: NodeEvent) => void
  private readonly maxPending: number
  private readonly fabric: RelayFabric<E> | undefined
  private relayed = 0
  /** messages of origins here that another member's connection took */
  private crossed = 0
  /** lets the sampled few `message_relayed` a second through */
  private readonly samples = new PerSecond(RELAYED_SAMPLES_PER_SECOND)

  constructor(opts: ClientRelayOptions<E>) {
    this.report = opts.report
    this.maxPending = opts.maxPendingPerConnection ?? MAX_PENDING_PER_CONNECTION_DEFAULT
    this.fabric = opts.fabric
    // each endpoint carries its relay state itself (slotStore): no map entry per connection
    this.relay = new Relay<E>((e) => e.isOpen, opts.random, opts.fabric?.choose, opts.fabric?.stranded, (e) => e.congested === true, slotStore)
    opts.fabric?.attach?.(this, opts.report)
  }

  /**
   * Client messages handed to a connection of this node so far (re-forwards
   * included): one `message_relayed` each, reported or not. Metrics and the
   * console read it.
   */
  get relayedTotal(): number {
    return this.relayed
  }

  /**
   * Every `message_relayed` so far, reported or not: the messages handed to
   * this node's connections and those of this node's origins that another
   * member's connection took ({@link relayedElsewhere}). What the text
   * renderer folds into its count.
   */
  get relayedEventsTotal(): number {
    return this.relayed + this.crossed
  }

  /**
   * A message of an origin here was taken by a connection of another cluster
   * member (`toName` is `node/conn`): reported like any relayed message, as
   * far as someone needs it, and counted apart from {@link relayedTotal},
   * which is what this node's own connections were handed.
   */
  relayedElsewhere(fromName: string, text: string, toName: string): void {
    this.crossed++
    if (this.wantsRelayed()) this.reportRelayed(fromName, text, toName)
  }

  /** Open connections that may be picked (this node's clients). */
  get connections(): number {
    return this.relay.connections
  }

  /** Relay entries waiting for an ok. */
  get pending(): number {
    return this.relay.pending
  }

  /** A client connection opened (or a connection turned out to be a client): it may be picked from now on. */
  add(e: E): void {
    this.relay.add(e)
    this.fabric?.changed?.()
  }

  /** Another member of the cluster: an origin and holder of messages, never picked as a connection is. */
  track(e: E): void {
    this.relay.track(e)
  }

  /** An endpoint left (closed, or turned out to be a peer node): its messages are handed on. */
  remove(e: E): void {
    for (const {to, text} of this.relay.remove(e)) this.forward(to, text, e)
    this.fabric?.changed?.()
  }

  /**
   * `message text` from `from` (events name it `fromName`, by default its
   * name: a member passes `node/conn`); `bytes`, when given, are the frame as
   * it arrived, passed on as they are. Returns the receiver it went to, if any.
   */
  message(from: E, text: string, fromName?: string, bytes?: Buffer): E | undefined {
    // a member is the origin of every message of its connections: they are capped there, not here
    if (this.relay.waitingFor(from) >= this.maxPending && from.hand === undefined) {
      from.send(encodeFrame({verb: 'error', text: `too many messages waiting for their ok (at most ${this.maxPending} per connection): this one was not forwarded, send it again later`}))
      return undefined
    }
    const to = this.relay.message(from, text)
    if (to !== undefined) this.forward(to, text, from, fromName, bytes)
    return to
  }

  /** Member `origin` took X back (it could not place it): it no longer waits for X here. */
  withdraw(origin: E, text: string): void {
    this.relay.withdraw(origin, text)
  }

  /** Member `holder` handed X back unanswered: X goes to another receiver. */
  release(holder: E, text: string): void {
    const f = this.relay.release(holder, text)
    if (f !== undefined) this.forward(f.to, f.text, holder)
  }

  /**
   * `ok text` from `from`: every origin waiting for it gets it, unless `from`
   * was never handed it. `bytes`, when given, are the frame as it arrived.
   */
  ok(from: E, text: string, bytes?: Buffer): void {
    const origins = this.relay.ok(from, text)
    if (origins === undefined) {
      from.send(encodeFrame({verb: 'error', text: 'ok for a message this connection was not handed: only its receiver may acknowledge it'}))
      return
    }
    for (const origin of origins) {
      if (bytes !== undefined && origin.sendFrame !== undefined) origin.sendFrame(bytes)
      else origin.send(`ok ${text}`)
    }
  }

  private forward(to: E, text: string, from: E, fromName?: string, bytes?: Buffer): void {
    if (to.hand !== undefined) return to.hand(text, fromName ?? from.name)
    if (bytes !== undefined && to.sendFrame !== undefined) to.sendFrame(bytes)
    else to.send(`message ${text}`)
    this.relayed++
    // the names are looked up only for an event someone needs
    if (this.wantsRelayed()) this.reportRelayed(fromName ?? from.name, text, to.name)
  }

  /** Whether this `message_relayed` is reported: as far as the listeners need them (see {@link RelayEvents}). */
  private wantsRelayed(): boolean {
    return this.samples.admits(this.relayEvents)
  }

  /** One `message_relayed`, once {@link wantsRelayed} said someone needs it. */
  private reportRelayed(from: string, text: string, to: string): void {
    this.report({event: 'message_relayed', from, text, to})
  }
}

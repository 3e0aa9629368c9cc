import {randomUUID} from 'node:crypto'
import {EventEmitter} from 'node:events'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {Delivery} from '../client/delivery.js'
import {keptLine, MemoryOutbox, resendingLine, type Outbox, type SeenLog} from '../client/outbox.js'
import {addClientRoutes} from '../http/clients.js'
import type {Refusal} from '../http/respond.js'
import {Router} from '../http/router.js'
import {addNodeRoutes} from '../http/routes.js'
import * as D from '../protocol/defaults.js'
import {PeerlinkError} from '../protocol/errors.js'
import {encodeFrame, type Frame, type HotVerb} from '../protocol/frame.js'
import {Discovery, normalizeWsUrl} from '../registry/discovery.js'
import {ClientTable, type LiveConnection, type LiveDirectory} from '../registry/table.js'
import {RELAYED_SAMPLES_PER_SECOND, type FoldedTotals, type NodeEvent, type RelayEvents} from './events.js'
import {PerSecond} from './once-per.js'
import {Peers, type PeerInfo} from './peers.js'
import {ClientRelay, type Endpoint, type FabricStats, type RelayFabric} from './relaying.js'
import {ASK_TIMEOUT_MS, ReverseCommands} from './reverse-asks.js'
import {Conn, NodeServer, type Role} from './server.js'
import {serveConsoleAndMetrics} from './web.js'

export type {PeerInfo} from './peers.js'

export interface NodeOptions {
  name: string
  host: string
  port: number
  /** URLs of the nodes this one dials */
  peers: string[]
  graceMs: number
  ackTimeoutMs: number
  /** delay before this node answers `ok Y` for a message delivered to it */
  ackDelayMs: number
  maxPayloadBytes: number
  /** token sent when dialing peers */
  token?: string
  tls?: {cert: string | Buffer; key: string | Buffer}
  /** CA and trust options for dialing wss:// peers */
  ca?: string | Buffer
  insecure?: boolean
  checkUpgrade?: (req: IncomingMessage) => Refusal | undefined
  /** answers HTTP requests before the router, e.g. to demand a token; true when it answered */
  guardRequest?: (req: IncomingMessage, res: ServerResponse) => boolean
  /** client-table entries not seen for this long are pruned (default 5 s) */
  registryTtlMs?: number
  /** join this registry (http(s) base or ws(s) URL of another node) and link to the nodes listed there */
  registry?: string
  /** the URL other nodes should dial to reach this one (default: from host, port and TLS) */
  advertise?: string
  /** where relayed messages may go (docs/architecture.md, seam 1); this node's connections by default */
  fabric?: RelayFabric<Endpoint>
  /** messages one client connection may have waiting for their ok */
  maxPendingPerConnection?: number
  /**
   * this node's identity, proposed in the hello of every link and in its
   * registry registration, so receivers recognise its resends across restarts
   * (kept in the state directory; default: a new one for this run)
   */
  id?: string
  /** where own messages wait for their acknowledgements (docs/architecture.md, seam 2); in memory by default */
  outbox?: Outbox
  /** what this node has shown of its peers' messages, beyond this process; in memory by default */
  seenLog?: SeenLog
  /** bytes waiting to be written past which a connection is not picked (twice that: closed 1008 "too slow"); default 4 × maxPayloadBytes */
  maxBufferBytes?: number
}

/** The defaults of a node's options, as `start` shows them. */
export const NODE_DEFAULTS = {
  host: D.HOST_DEFAULT,
  port: D.PORT_DEFAULT,
  graceMs: D.GRACE_MS_DEFAULT,
  ackTimeoutMs: D.ACK_TIMEOUT_MS_DEFAULT,
  ackDelayMs: D.ACK_DELAY_MS_DEFAULT,
  drainTimeoutMs: D.DRAIN_TIMEOUT_MS_DEFAULT,
  maxPayloadBytes: D.MAX_PAYLOAD_BYTES_DEFAULT,
} as const

/** `GET /stats` (docs/protocol.md §5). */
export interface NodeStats {
  name: string
  connections: number
  peers: number
  pending: number
  outbox: number
  clients: number
  /** with --cluster: the members and their summed counts */
  cluster?: FabricStats
}

/**
 * A peerlink node, composed: the server (HTTP + `/ws`), the relay for client
 * connections, delivery of what peer nodes' links send here, this node's own
 * links to its peers, the client table and registry discovery. It decides
 * which part a connection's frames go to and reports everything as
 * {@link NodeEvent}s; the parts do the work.
 */
export class PeerNode extends EventEmitter<{event: [NodeEvent]}> {
  readonly name: string
  /** this node's identity in every hello and in the registry */
  readonly id: string
  readonly server: NodeServer
  readonly router = new Router()
  /** every client and node this node knows: HTTP registrations and live WebSocket connections */
  readonly table: ClientTable
  readonly peers: Peers

  private readonly opts: NodeOptions
  private readonly store: Outbox
  private readonly relay: ClientRelay<Endpoint>
  /** this node as the final receiver of what its peers' links send */
  private readonly delivery: Delivery
  private readonly asks = new ReverseCommands<Conn>()
  private discovery: Discovery | undefined
  /** peer-node connections whose client_connected was reported (they are reported once their hello names them) */
  private readonly announced = new WeakSet<Conn>()
  /** listeners of 'event' that need fewer than every `message_relayed` (see {@link listen}) */
  private readonly quiet = new Map<(ev: NodeEvent) => void, Exclude<RelayEvents, 'every'>>()
  /** client connections opened and closed so far, reported or not (see {@link foldedTotals}) */
  private clientsConnected = 0
  private clientsDisconnected = 0
  /** with sampled events: the few client_connected and client_disconnected a second that are reported */
  private readonly connectSamples = new PerSecond(RELAYED_SAMPLES_PER_SECOND)
  private readonly disconnectSamples = new PerSecond(RELAYED_SAMPLES_PER_SECOND)
  private boundPort = 0

  constructor(opts: NodeOptions) {
    super()
    this.opts = opts
    this.name = opts.name
    this.id = opts.id ?? randomUUID()
    this.store = opts.outbox ?? new MemoryOutbox()
    const report = (ev: NodeEvent) => this.report(ev)
    this.table = new ClientTable({ttlMs: opts.registryTtlMs, live: liveConnections(() => this.server)})
    this.relay = new ClientRelay({report, fabric: opts.fabric, maxPendingPerConnection: opts.maxPendingPerConnection})
    this.delivery = new Delivery({ackDelayMs: opts.ackDelayMs, seenLog: opts.seenLog})
    this.peers = new Peers(
      () => ({
        hello: {id: this.id, name: this.name, port: this.port, role: 'node'},
        graceMs: opts.graceMs,
        ackTimeoutMs: opts.ackTimeoutMs,
        ackDelayMs: opts.ackDelayMs,
        token: opts.token,
        ca: opts.ca,
        insecure: opts.insecure,
        maxPayloadBytes: opts.maxPayloadBytes,
        seenLog: opts.seenLog,
      }),
      this.store,
      report,
    )
    addNodeRoutes(this.router, this)
    addClientRoutes(this.router, this)
    this.server = new NodeServer(
      {name: opts.name, host: opts.host, port: opts.port, maxPayloadBytes: opts.maxPayloadBytes, maxBufferBytes: opts.maxBufferBytes, tls: opts.tls, checkUpgrade: opts.checkUpgrade},
      {
        request: (req, res) => {
          if (opts.guardRequest?.(req, res)) return
          void this.router.handle(req, res)
        },
        open: (conn) => this.onOpen(conn),
        hello: (conn, previousRole, previousId) => this.onHello(conn, previousRole, previousId),
        relay: (conn, verb, text, bytes) => this.onRelayFrame(conn, verb, text, bytes),
        frame: (conn, frame) => this.onFrame(conn, frame),
        invalid: (conn, reason) => this.report({event: 'error', msg: `bad frame from ${conn.name}: ${reason}`, kind: 'bad_frame'}),
        close: (conn, code, reason) => this.onClose(conn, code, reason),
        slow: (conn, buffered) => this.onSlow(conn, buffered),
        acceptFailed: (msg) => this.report({event: 'error', msg, kind: 'accept'}),
      },
    )
    // the relay reports as much of the message_relayed stream as its most demanding listener needs
    const listenersChanged = (name: string | symbol) => {
      if (name === 'event') queueMicrotask(() => this.updateRelayEvents())
    }
    ;(this as EventEmitter).on('newListener', listenersChanged).on('removeListener', listenersChanged)
    this.updateRelayEvents()
    serveConsoleAndMetrics(this)
  }

  /**
   * Listens to every event, like `on('event', listener)`, but says how many
   * `message_relayed` events the listener needs (see {@link RelayEvents}):
   * with no listener that needs every one, the relay does no work per message
   * for events nobody renders. Returns the way to stop listening.
   */
  listen(listener: (ev: NodeEvent) => void, relayed: RelayEvents = 'every'): () => void {
    if (relayed !== 'every') this.quiet.set(listener, relayed)
    this.on('event', listener)
    return () => {
      this.off('event', listener)
      this.quiet.delete(listener)
      this.updateRelayEvents()
    }
  }

  /** Client messages relayed to this node's connections so far (`peerlink_messages_relayed_total`, the console's chart). */
  get relayedTotal(): number {
    return this.relay.relayedTotal
  }

  /**
   * The high-rate events so far, reported or not: every `message_relayed`,
   * and the clients (not peer nodes) that connected and disconnected. What a
   * renderer that needs only sampled events (the text renderer) folds into
   * its summary lines.
   */
  foldedTotals(): FoldedTotals {
    return {relayed: this.relay.relayedEventsTotal, connected: this.clientsConnected, disconnected: this.clientsDisconnected}
  }

  private updateRelayEvents(): void {
    const listeners = this.listeners('event')
    let sampled = false
    for (const l of listeners) {
      const need = this.quiet.get(l)
      if (need === undefined) {
        this.relay.relayEvents = 'every'
        return
      }
      if (need === 'sampled') sampled = true
    }
    this.relay.relayEvents = sampled ? 'sampled' : 'none'
  }

  /** The port the node listens on, once started. */
  get port(): number {
    return this.boundPort
  }

  /** The URL peers and clients use to reach this node's WebSocket endpoint. */
  get url(): string {
    const scheme = this.opts.tls ? 'wss' : 'ws'
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host
    return `${scheme}://${host}:${this.port}${D.WS_PATH}`
  }

  /**
   * Listens, reports `listening` (and what the outbox holds from the last
   * run), then starts the peer links (each waits out the grace delay and
   * resends what the outbox owes its peer), the pruning of the client table,
   * and registry discovery.
   */
  async start(): Promise<void> {
    this.boundPort = await this.server.listen()
    this.report({event: 'listening', url: this.url, host: this.opts.host, port: this.port})
    await this.opts.fabric?.start?.()
    const left = this.store.size
    if (left > 0) this.report({event: 'info', topic: 'outbox', msg: resendingLine(left), data: {resending: left, state: this.store.location}})
    for (const url of this.opts.peers) this.peers.add(url)
    this.table.startPruning()
    if (this.opts.registry !== undefined) this.startDiscovery(this.opts.registry)
  }

  private startDiscovery(registryUrl: string): void {
    const fixed = this.opts.peers.map((u) => normalizeWsUrl(u) ?? u)
    const discovery = new Discovery(
      {
        registryUrl,
        advertiseUrl: this.opts.advertise ?? this.url,
        name: this.name,
        client: {token: this.opts.token, ca: this.opts.ca, insecure: this.opts.insecure},
        id: this.id,
      },
      {
        // The node is listed in the registry, so it is up: no grace delay. The
        // node registers under its own id and every link proposes that id, so
        // a peer that is itself the registry shows one entry for this node,
        // live, instead of two, and the id survives restarts.
        dial: (url) => void this.peers.add(url, {graceMs: 0, learned: true}),
        drop: (url) => this.peers.drop(url, 'peer gone', 'left the registry'),
        learnedUrls: () => this.peers.learnedUrls(),
        fixedUrls: () => fixed,
        info: (msg) => this.report({event: 'info', topic: 'registry', msg}),
        error: (msg) => this.report({event: 'error', msg, kind: 'registry'}),
      },
    )
    this.discovery = discovery
    discovery.start()
  }

  /**
   * Sends `1 <text>`: `message text` on every peer link, each keeping it until
   * acknowledged. Returns the peers it was queued for.
   */
  send(text: string): PeerInfo[] {
    const hint = this.discovery ? 'no peer to send to yet: no other node has joined the registry' : 'no peer to send to: start with --peer URL or --registry URL'
    return this.peers.send(text, hint)
  }

  /** This node's own messages not yet acknowledged, over all links. */
  get outbox(): number {
    return this.peers.outbox
  }

  /** Resolves once every message and acknowledgement recorded so far is durable (at once in memory). */
  async flushed(): Promise<void> {
    await Promise.all([this.store.flushed(), this.opts.seenLog?.flushed()])
  }

  stats(): NodeStats {
    return {
      name: this.name,
      connections: this.server.connectionCount,
      peers: this.peers.up,
      pending: this.relay.pending,
      outbox: this.peers.outbox,
      clients: this.table.size,
      ...(this.opts.fabric?.stats && {cluster: this.opts.fabric.stats()}),
    }
  }

  /**
   * Runs reverse command `command` on the live connection with this id and
   * resolves with its answer. Rejects with NOT_FOUND for an unknown id,
   * UNREACHABLE for an entry without a live connection, TIMEOUT when no
   * answer comes within `timeoutMs`.
   */
  askClient(id: string, command: string, arg?: string, timeoutMs = ASK_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const conn = this.server.byId(id)
    if (conn) return this.asks.ask(conn, command, arg, timeoutMs)
    if (this.table.get(id)) {
      return Promise.reject(new PeerlinkError('UNREACHABLE', `client ${id} is registered but has no live WebSocket connection to ${this.name}`))
    }
    return Promise.reject(new PeerlinkError('NOT_FOUND', `no client with id ${id}`))
  }

  peerInfo(): PeerInfo[] {
    return this.peers.info()
  }

  /**
   * Waits until every own message is acknowledged, at most `timeoutMs`; true
   * when all were (false too when some failed earlier because their peer left).
   */
  drain(timeoutMs: number): Promise<boolean> {
    return this.peers.drained(timeoutMs)
  }

  /** Reports what is still unacknowledged as failed, closes everything with 1001 and reports `stopped`. */
  async stop(code: number, reason = 'node stopped'): Promise<void> {
    // leave the registry first, so other nodes stop dialing this one
    await this.discovery?.stop()
    this.table.close()
    this.asks.close()
    this.delivery.clear()
    await Promise.all([this.peers.close(reason), this.server.close(1001, 'going away')])
    // after the connections: what they held is re-forwarded through the cluster while it is still joined
    await this.opts.fabric?.stop?.()
    const kept = this.store.size
    if (kept > 0 && this.store.location !== undefined) {
      const failing = this.store.failing
      this.report({event: 'info', topic: 'outbox', msg: keptLine(kept, this.store.location, failing), data: {kept, state: this.store.location, ...(failing ? {failing} : {})}})
    }
    this.report({event: 'stopped', code})
  }

  /** Emits an event to whoever renders it. */
  report(event: NodeEvent): void {
    this.emit('event', event)
  }

  private onOpen(conn: Conn): void {
    // the client table lists it from the server's connections (liveConnections): nothing to add there
    if (conn.role === 'client') {
      this.relay.add(conn)
      this.clientsConnected++
      // as many as the listeners need: the event reads the remote address, which is a system call
      if (this.connectSamples.admits(this.relay.relayEvents)) this.reportConnected(conn)
    }
    // a peer node is announced once its hello has named it
  }

  private reportConnected(conn: Conn): void {
    this.report({event: 'client_connected', id: conn.id, name: conn.name, role: conn.role, ip: conn.ip, port: conn.port})
  }

  private onHello(conn: Conn, previousRole: Role, previousId: string): void {
    if (conn.id !== previousId) this.table.connectionLeft(previousId, conn.lastSeenMs)
    if (conn.role === 'node' && !this.announced.has(conn)) {
      this.announced.add(conn)
      this.reportConnected(conn)
    }
    if (previousRole === conn.role) return
    // A peer link is neither an origin nor a target of the relay.
    if (conn.role === 'node') this.relay.remove(conn)
    else this.relay.add(conn)
  }

  /** `message X` / `ok X` (the relay's hot path); `bytes` are the frame as it arrived. */
  private onRelayFrame(conn: Conn, verb: HotVerb, text: string, bytes: Buffer): void {
    if (verb === 'message') {
      if (conn.role === 'node') this.deliver(conn, text)
      else this.relay.message(conn, text, undefined, bytes)
    } else if (conn.role === 'client') {
      // a peer node's link has nothing of ours to acknowledge: our own messages go out on our own links
      this.relay.ok(conn, text, bytes)
    }
  }

  private onFrame(conn: Conn, frame: Frame): void {
    // message and ok never come here: the server hands them to onRelayFrame
    switch (frame.verb) {
      case 'error':
        this.report({event: 'error', msg: `${conn.name} says: ${frame.text}`, kind: 'remote'})
        return
      case 'res':
        // an answer nobody waits for any more (timed out) is dropped quietly
        this.asks.answer(conn, frame.n, frame.body)
        return
      default:
        conn.send(encodeFrame({verb: 'error', text: `${frame.verb} is not something a client sends here`}))
    }
  }

  /**
   * A peer node's link delivered `text` here: show it once, answer `ok` (at
   * once when it is a resend). The sender is known by the id its hello
   * proposed: a node keeps that id in its state directory, so its resends
   * after a restart are recognised too.
   */
  private deliver(conn: Conn, text: string): void {
    this.delivery.receive(
      conn.hello?.id ?? conn.id,
      text,
      (repeat) => this.report({event: 'message_received', from: conn.name, text, ...(repeat ? {repeat} : {})}),
      () => conn.send(encodeFrame({verb: 'ok', text})),
    )
  }

  /** The server closed a connection whose reader fell too far behind: what it held goes to other receivers now. */
  private onSlow(conn: Conn, bufferedBytes: number): void {
    if (conn.role === 'client') this.relay.remove(conn)
    this.report({event: 'error', msg: `closed ${conn.name} with 1008 "too slow": ${bufferedBytes} bytes were waiting to be written to it, more than twice --max-buffer, after more than a second behind; what it held goes to other receivers`, kind: 'too_slow'})
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    this.asks.drop(conn)
    this.table.connectionLeft(conn.id, conn.lastSeenMs)
    if (conn.role === 'client') {
      this.relay.remove(conn)
      this.clientsDisconnected++
      if (!this.reportsDisconnect(conn)) return
    }
    this.report({event: 'client_disconnected', id: conn.id, name: conn.name, role: conn.role, code, reason})
  }

  /**
   * Whether a client's client_disconnected is reported: to a listener that
   * needs every event, always; with sampled events, a few a second, of
   * clients named while they were open (their connection was reported, or
   * their address read): one read now would find the socket gone.
   */
  private reportsDisconnect(conn: Conn): boolean {
    const need = this.relay.relayEvents
    return (need === 'every' || conn.addressKnown) && this.disconnectSamples.admits(need)
  }
}

/** The server's connections as the client table reads them; a hello's port is where its sender listens. */
function liveConnections(server: () => NodeServer): LiveDirectory {
  const view = (conn: Conn): LiveConnection => ({id: conn.id, ip: conn.ip, port: conn.hello?.port ?? conn.port, name: conn.name, role: conn.role, lastSeenMs: conn.lastSeenMs})
  return {
    get: (id) => {
      const conn = server().byId(id)
      return conn && view(conn)
    },
    *all() {
      for (const conn of server().connections()) yield view(conn)
    },
    get size() {
      return server().connectionCount
    },
  }
}

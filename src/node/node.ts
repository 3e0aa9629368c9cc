import {EventEmitter} from 'node:events'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {OwedAcks} from '../client/acks.js'
import {Link} from '../client/link.js'
import {PeerlinkError} from '../protocol/errors.js'
import type {Frame} from '../protocol/frame.js'
import {SeenCache} from '../protocol/seen.js'
import * as D from '../protocol/defaults.js'
import {Router} from '../http/router.js'
import {addNodeRoutes} from '../http/routes.js'
import {addClientRoutes} from '../http/clients.js'
import {Discovery, normalizeWsUrl} from '../registry/discovery.js'
import {ClientTable} from '../registry/table.js'
import type {NodeEvent} from './events.js'
import {reportLinkEvents} from './link-events.js'
import {Relay} from './relay.js'
import {ASK_TIMEOUT_MS, ReverseCommands} from './reverse-asks.js'
import {Conn, NodeServer} from './server.js'
import {serveConsoleAndMetrics} from './web.js'
import type {Refusal} from '../http/respond.js'

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
}

export const NODE_DEFAULTS = {
  host: D.HOST_DEFAULT,
  port: D.PORT_DEFAULT,
  graceMs: D.GRACE_MS_DEFAULT,
  ackTimeoutMs: D.ACK_TIMEOUT_MS_DEFAULT,
  ackDelayMs: D.ACK_DELAY_MS_DEFAULT,
  drainTimeoutMs: D.DRAIN_TIMEOUT_MS_DEFAULT,
  maxPayloadBytes: D.MAX_PAYLOAD_BYTES_DEFAULT,
} as const

export interface NodeStats {
  name: string
  connections: number
  peers: number
  pending: number
  outbox: number
  clients: number
}

export interface PeerInfo {
  url: string
  name: string
  up: boolean
  pending: number
}

/** The wait before checking again whether the outbox has drained. */
const DRAIN_POLL_MS = 25

/**
 * A peerlink node: the server (HTTP + `/ws`), the relay for client
 * connections, delivery of messages that peer nodes' links send here, and this
 * node's own outbound links. Reports everything as {@link NodeEvent}s.
 */
export class PeerNode extends EventEmitter<{event: [NodeEvent]}> {
  readonly name: string
  readonly server: NodeServer
  readonly router = new Router()
  readonly links: Link[] = []
  /** every client and node this node knows: HTTP registrations and live WebSocket connections */
  readonly table: ClientTable
  port = 0

  private readonly opts: NodeOptions
  private readonly relay = new Relay<Conn>((c) => c.isOpen)
  private readonly delivered = new SeenCache(D.SEEN_TTL_MS)
  /** acknowledgements this node owes its peers' links */
  private readonly owed = new OwedAcks()
  private readonly asks = new ReverseCommands<Conn>()
  private discovery: Discovery<Link> | undefined
  /** links dropped while running, still closing */
  private readonly closingLinks = new Set<Promise<void>>()
  /** own messages given up because their peer left for good: the node can no longer say all were acknowledged */
  private lostMessages = 0

  constructor(opts: NodeOptions) {
    super()
    this.opts = opts
    this.name = opts.name
    this.table = new ClientTable({ttlMs: opts.registryTtlMs})
    addNodeRoutes(this.router, this)
    addClientRoutes(this.router, this)
    this.server = new NodeServer(
      {name: opts.name, host: opts.host, port: opts.port, maxPayloadBytes: opts.maxPayloadBytes, tls: opts.tls, checkUpgrade: opts.checkUpgrade},
      {
        request: (req, res) => {
          if (opts.guardRequest?.(req, res)) return
          void this.router.handle(req, res)
        },
        open: (conn) => this.onOpen(conn),
        hello: (conn, previousRole, previousId) => this.onHello(conn, previousRole, previousId),
        frame: (conn, frame) => this.onFrame(conn, frame),
        invalid: (conn, reason) => this.report({event: 'error', msg: `bad frame from ${conn.name}: ${reason}`, kind: 'bad_frame'}),
        close: (conn, code, reason) => this.onClose(conn, code, reason),
        acceptFailed: (msg) => this.report({event: 'error', msg, kind: 'accept'}),
      },
    )
    serveConsoleAndMetrics(this)
  }

  /** The URL peers and clients use to reach this node's WebSocket endpoint. */
  get url(): string {
    const scheme = this.opts.tls ? 'wss' : 'ws'
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host
    return `${scheme}://${host}:${this.port}${D.WS_PATH}`
  }

  /**
   * Listens, reports `listening`, then starts the peer links (each waits out
   * the grace delay), the pruning of the client table, and registry discovery.
   */
  async start(): Promise<void> {
    this.port = await this.server.listen()
    this.report({event: 'listening', url: this.url, host: this.opts.host, port: this.port})
    for (const url of this.opts.peers) this.addPeer(url)
    this.table.startPruning()
    if (this.opts.registry !== undefined) {
      const fixed = this.opts.peers.map((u) => normalizeWsUrl(u) ?? u)
      this.discovery = new Discovery<Link>(
        {
          registryUrl: this.opts.registry,
          advertiseUrl: this.opts.advertise ?? this.url,
          name: this.name,
          client: {token: this.opts.token, ca: this.opts.ca, insecure: this.opts.insecure},
        },
        {
          // The node is listed in the registry, so it is up: no grace delay. The
          // link proposes this node's registry id, so a peer that is itself the
          // registry shows one entry for this node, live, instead of two.
          dial: (url) => this.addPeer(url, {graceMs: 0, id: this.discovery?.id}),
          drop: (link) => this.dropPeer(link, 'peer gone', 'left the registry'),
          fixedUrls: () => fixed,
          info: (msg) => this.report({event: 'info', topic: 'registry', msg}),
          error: (msg) => this.report({event: 'error', msg, kind: 'registry'}),
        },
      )
      this.discovery.start()
    }
  }

  /** Adds an outbound link to `url` and starts it (after the node's grace delay unless told otherwise). */
  addPeer(url: string, opts: {graceMs?: number; id?: string} = {}): Link {
    const link = new Link({
      url,
      hello: {...(opts.id === undefined ? {} : {id: opts.id}), name: this.name, port: this.port, role: 'node'},
      graceMs: opts.graceMs ?? this.opts.graceMs,
      ackTimeoutMs: this.opts.ackTimeoutMs,
      ackDelayMs: this.opts.ackDelayMs,
      token: this.opts.token,
      ca: this.opts.ca,
      insecure: this.opts.insecure,
      maxPayloadBytes: this.opts.maxPayloadBytes,
    })
    reportLinkEvents(link, (ev) => this.report(ev))
    this.links.push(link)
    link.start()
    return link
  }

  /**
   * Sends `1 <text>`: `message text` on every peer link, each keeping it until
   * acknowledged. Returns the peers it was queued for.
   */
  send(text: string): PeerInfo[] {
    if (this.links.length === 0) {
      throw new PeerlinkError(
        'NO_PEER',
        this.discovery ? 'no peer to send to yet: no other node has joined the registry' : 'no peer to send to: start with --peer URL or --registry URL',
      )
    }
    for (const link of this.links) link.send(text)
    return this.peerInfo()
  }

  /** This node's own messages not yet acknowledged, over all links. */
  get outbox(): number {
    let n = 0
    for (const link of this.links) n += link.pendingCount
    return n
  }

  stats(): NodeStats {
    return {
      name: this.name,
      connections: this.server.connectionCount,
      peers: this.links.filter((l) => l.isUp).length,
      pending: this.relay.pending,
      outbox: this.outbox,
      clients: this.table.size,
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
    return this.links.map((l) => ({url: l.url, name: l.remoteName ?? l.url, up: l.isUp, pending: l.pendingCount}))
  }

  /**
   * Waits until every own message is acknowledged, at most `timeoutMs`; true
   * when all were (false too when some failed earlier because their peer left).
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.outbox > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(DRAIN_POLL_MS, deadline - Date.now())))
    }
    return this.outbox === 0 && this.lostMessages === 0
  }

  /** Reports what is still unacknowledged as failed, closes everything with 1001 and reports `stopped`. */
  async stop(code: number, reason = 'node stopped'): Promise<void> {
    // leave the registry first, so other nodes stop dialing this one
    await this.discovery?.stop()
    this.table.close()
    this.asks.close()
    for (const link of this.links) this.failPending(link, reason)
    this.owed.clear()
    await Promise.all([...this.links.map((l) => l.close(1001, 'going away')), ...this.closingLinks, this.server.close(1001, 'going away')])
    this.report({event: 'stopped', code})
  }

  /** Emits an event to whoever renders it. */
  report(event: NodeEvent): void {
    this.emit('event', event)
  }

  /** Gives up the link's unacknowledged messages, reporting each as failed; returns how many. */
  private failPending(link: Link, reason: string): number {
    const to = link.remoteName ?? link.url
    const texts = link.abandon()
    for (const text of texts) this.report({event: 'message_failed', text, to, reason})
    return texts.length
  }

  /** Drops a link for good: its unacknowledged messages fail with `failReason`, and it is closed. */
  private dropPeer(link: Link, failReason: string, why: string): void {
    this.lostMessages += this.failPending(link, failReason)
    const peer = link.remoteName ?? link.url
    const i = this.links.indexOf(link)
    if (i >= 0) this.links.splice(i, 1)
    this.report({event: 'peer_disconnected', peer, url: link.url, reason: why, dropped: true})
    const closing = link.close(1001, why).finally(() => this.closingLinks.delete(closing))
    this.closingLinks.add(closing)
  }


  private onOpen(conn: Conn): void {
    this.table.attachLive(conn.id, entryInfo(conn), conn)
    if (conn.role === 'client') {
      this.relay.add(conn)
      this.reportConnected(conn)
    }
    // a peer node is announced once its hello has named it
  }

  private reportConnected(conn: Conn): void {
    this.report({event: 'client_connected', id: conn.id, name: conn.name, role: conn.role, ip: conn.ip, port: conn.port})
  }

  private onHello(conn: Conn, previousRole: 'node' | 'client', previousId: string): void {
    this.table.attachLive(conn.id, entryInfo(conn), conn, previousId)
    if (conn.role === 'node' && !conn.announced) {
      conn.announced = true
      this.reportConnected(conn)
    }
    if (previousRole === conn.role) return
    if (conn.role === 'node') {
      // A peer link is neither an origin nor a target of the relay.
      for (const {to, text} of this.relay.remove(conn)) this.forward(conn, to, text)
    } else {
      this.relay.add(conn)
    }
  }

  private onFrame(conn: Conn, frame: Frame): void {
    switch (frame.verb) {
      case 'message':
        if (conn.role === 'node') this.deliver(conn, frame.text)
        else {
          const to = this.relay.message(conn, frame.text)
          if (to) this.forward(conn, to, frame.text)
        }
        return
      case 'ok':
        if (conn.role === 'node') return
        for (const origin of this.relay.ok(conn, frame.text)) origin.send(`ok ${frame.text}`)
        return
      case 'error':
        this.report({event: 'error', msg: `${conn.name} says: ${frame.text}`, kind: 'remote'})
        return
      case 'res':
        // an answer nobody waits for any more (timed out) is dropped quietly
        this.asks.answer(conn, frame.n, frame.body)
        return
      default:
        conn.send(`error ${frame.verb} is not something a client sends here`)
    }
  }

  private forward(from: Conn, to: Conn, text: string): void {
    to.send(`message ${text}`)
    this.report({event: 'message_relayed', from: from.name, text, to: to.name})
  }

  /** A peer node's link delivered `text` here: show it once, answer `ok` (at once when it is a resend). */
  private deliver(conn: Conn, text: string): void {
    const key = `${conn.hello?.id ?? conn.id}\n${text}`
    const repeat = this.delivered.check(key, Date.now())
    this.report({event: 'message_received', from: conn.name, text, ...(repeat ? {repeat} : {})})
    // a resend is answered at once: its delay was served the first time
    this.owed.schedule(repeat ? 0 : this.opts.ackDelayMs, () => conn.send(`ok ${text}`))
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    this.asks.drop(conn)
    this.table.detachLive(conn.id, conn)
    if (conn.role === 'client') {
      for (const {to, text} of this.relay.remove(conn)) this.forward(conn, to, text)
    }
    this.report({event: 'client_disconnected', id: conn.id, name: conn.name, role: conn.role, code, reason})
  }
}

/** What the client table shows of a live connection; a hello's port is where its sender listens. */
function entryInfo(conn: Conn): {ip: string; port: number; name: string; role: 'node' | 'client'} {
  return {ip: conn.ip, port: conn.hello?.port ?? conn.port, name: conn.name, role: conn.role}
}

import {randomUUID} from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type {Duplex} from 'node:stream'
import {WebSocket, WebSocketServer} from 'ws'
import {checkAlive} from '../client/liveness.js'
import {DEAD_AFTER_MS, PING_INTERVAL_MS} from '../protocol/defaults.js'
import {PeerlinkError} from '../protocol/errors.js'
import {closeGracefully} from '../client/close.js'
import {decodeFrame, encodeFrame, isUuid, PEERLINK_HEADER, type Frame, type Hello} from '../protocol/frame.js'
import {WS_PATH} from '../protocol/defaults.js'
import type {Refusal} from '../http/respond.js'
import {maxConnectionsFor, openFileLimit} from './limits.js'

/** A client that has not sent its whole request head by then is dropped (slowloris, half-open sockets). */
export const HEADERS_TIMEOUT_MS = 10_000
/** The whole request, body included (bodies are at most 1 MiB). */
export const REQUEST_TIMEOUT_MS = 60_000
/** How often Node looks for connections past those timeouts. */
const TIMEOUT_CHECK_MS = 1000
/**
 * Connections the kernel may queue before the node accepts them (capped by
 * net.core.somaxconn). Node's default of 511 overflows in a burst (a load
 * test's ramp, every client of a restarted node reconnecting at once) while
 * the node is busy for a few hundred ms; an overflow drops the SYN and the
 * client waits out TCP's retransmission backoff (1 s, 3 s, 7 s...).
 */
export const LISTEN_BACKLOG = 4096

export type Role = 'node' | 'client'

/** One inbound WebSocket connection and what the server knows about it. */
export class Conn {
  /** the id the server owns; a hello may propose another (NodeServer settles it) */
  id: string
  /** the connection's hello, once it sent one */
  hello: Hello | undefined
  lastSeenMs = Date.now()
  readonly connectedAt = new Date()

  /**
   * @param upgradeRole what the upgrade's `x-peerlink-role` header said: a
   *   peer node's link says `node` there too, so that the relay never picks it
   *   before its hello arrives
   */
  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    readonly port: number,
    private readonly upgradeRole: Role,
  ) {
    this.id = randomUUID()
  }

  /** A peer node's link or a client: what the hello said, else what the upgrade said. */
  get role(): Role {
    return this.hello?.role ?? this.upgradeRole
  }

  /** The hello's name, else the remote address. */
  get name(): string {
    if (this.hello?.name) return this.hello.name
    return this.ip.includes(':') ? `[${this.ip}]:${this.port}` : `${this.ip}:${this.port}`
  }

  /** Fully open: not connecting, and no close frame sent or received. */
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  send(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text)
  }
}

export interface ServerOptions {
  name: string
  host: string
  port: number
  maxPayloadBytes: number
  tls?: {cert: string | Buffer; key: string | Buffer}
  pingIntervalMs?: number
  /** open-file limit to size the connection cap by; read from the process when unset */
  openFileLimit?: number
  deadAfterMs?: number
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  /** checked before every WebSocket upgrade (auth, origin); a refusal answers with its status */
  checkUpgrade?: (req: http.IncomingMessage) => Refusal | undefined
}

export interface ServerHandlers {
  request(req: http.IncomingMessage, res: http.ServerResponse): void
  open(conn: Conn): void
  /** after the server settled the id and role a hello asked for (welcome already sent) */
  hello(conn: Conn, previousRole: Role, previousId: string): void
  /** every valid frame but hello */
  frame(conn: Conn, frame: Frame): void
  /** a frame was invalid; the server already answered with an `error` frame */
  invalid(conn: Conn, reason: string): void
  close(conn: Conn, code: number, reason: string): void
  /** accepting a connection failed (EMFILE: out of file descriptors); the open ones keep being served */
  acceptFailed?(msg: string): void
}

/**
 * A WebSocket endpoint besides `/ws` (the console's event stream): it gets the
 * upgrades of its path once `checkUpgrade` passed them, and is closed with the
 * server. Its connections are not relay connections.
 */
export interface UpgradeEndpoint {
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void
  close(code: number, reason: string): Promise<void>
}

/** At most one "cannot accept" line per this interval, however many connections are refused. */
export const ACCEPT_FAILED_LOG_INTERVAL_MS = 5000

/**
 * HTTP and the WebSocket endpoint `/ws` on one port. Owns the connections:
 * ids, hello/welcome, frame decoding and rejection, ping/pong liveness.
 * What frames mean is the handlers' business.
 */
export class NodeServer {
  readonly http: http.Server
  private readonly wss: WebSocketServer
  /** the open connections, by the id the server settled */
  private readonly conns = new Map<string, Conn>()
  private readonly endpoints = new Map<string, UpgradeEndpoint>()
  private pingTimer: NodeJS.Timeout | undefined
  private readonly opts: Required<Omit<ServerOptions, 'tls' | 'checkUpgrade' | 'openFileLimit'>> & ServerOptions

  constructor(
    opts: ServerOptions,
    private readonly handlers: ServerHandlers,
  ) {
    this.opts = {
      pingIntervalMs: PING_INTERVAL_MS,
      deadAfterMs: DEAD_AFTER_MS,
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      ...opts,
    }
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => handlers.request(req, res)
    const limits: http.ServerOptions = {
      headersTimeout: this.opts.headersTimeoutMs,
      requestTimeout: this.opts.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    }
    this.http = opts.tls ? https.createServer({...limits, cert: opts.tls.cert, key: opts.tls.key}, onRequest) : http.createServer(limits, onRequest)
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // malformed HTTP, oversized headers: answer if we still can, never crash
      if (socket.writable) {
        const status =
          err.code === 'HPE_HEADER_OVERFLOW'
            ? '431 Request Header Fields Too Large'
            : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
              ? '408 Request Timeout'
              : '400 Bad Request'
        socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
      } else {
        socket.destroy()
      }
    })
    this.wss = new WebSocketServer({noServer: true, maxPayload: opts.maxPayloadBytes, clientTracking: false})
    // tells a peerlink client to wait for our welcome (and any other client that we are peerlink)
    this.wss.on('headers', (headers) => headers.push(`${PEERLINK_HEADER}: 1`))
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head))
  }

  /** Open connections (clients and peer links). */
  get connectionCount(): number {
    return this.conns.size
  }

  connections(): Iterable<Conn> {
    return this.conns.values()
  }

  byId(id: string): Conn | undefined {
    return this.conns.get(id)
  }

  /** Routes upgrades of `path` (after the same `checkUpgrade` as `/ws`) to `endpoint`. */
  addEndpoint(path: string, endpoint: UpgradeEndpoint): void {
    if (path === WS_PATH || this.endpoints.has(path)) throw new Error(`a WebSocket endpoint at ${path} exists already`)
    this.endpoints.set(path, endpoint)
  }

  /** Starts listening; resolves with the bound port. A port in use is a PeerlinkError naming it. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.http.off('listening', onListening)
        if (err.code === 'EADDRINUSE') {
          reject(new PeerlinkError('PORT_IN_USE', `port ${this.opts.port} is already in use on ${this.opts.host}`))
        } else if (err.code === 'EACCES') {
          reject(new PeerlinkError('LISTEN_FAILED', `not allowed to listen on port ${this.opts.port}`))
        } else {
          reject(new PeerlinkError('LISTEN_FAILED', `cannot listen on ${this.opts.host}:${this.opts.port}: ${err.message}`))
        }
      }
      const onListening = () => {
        this.http.off('error', onError)
        resolve()
      }
      this.http.once('error', onError)
      this.http.once('listening', onListening)
      this.http.listen({port: this.opts.port, host: this.opts.host, backlog: LISTEN_BACKLOG})
    })
    // Near the open-file limit, refuse new connections cleanly (net.Server
    // closes them and emits 'drop') rather than hit EMFILE in the middle of
    // serving the open ones.
    const fdLimit = this.opts.openFileLimit ?? openFileLimit()
    const maxConnections = maxConnectionsFor(fdLimit)
    if (maxConnections !== undefined) this.http.maxConnections = maxConnections
    let lastAcceptLogMs = -Infinity
    const acceptFailed = (why: string) => {
      const now = Date.now()
      if (now - lastAcceptLogMs < ACCEPT_FAILED_LOG_INTERVAL_MS) return
      lastAcceptLogMs = now
      this.handlers.acceptFailed?.(`${why}: refusing new connections, the open ones are still served; raise the limit (ulimit -n)`)
    }
    this.http.on('drop', () => acceptFailed(`open-file limit reached (${maxConnections} connections of ulimit -n ${fdLimit})`))
    this.http.on('error', (err: NodeJS.ErrnoException) => {
      // After listening, server-level errors (EMFILE on accept) must not crash
      // the node: libuv drops the pending connection and the open ones go on.
      acceptFailed(err.code === 'EMFILE' || err.code === 'ENFILE' ? `too many open files (${err.code})` : `cannot accept a connection (${err.code ?? err.message})`)
    })
    this.pingTimer = setInterval(() => this.heartbeat(), this.opts.pingIntervalMs)
    this.pingTimer.unref()
    const address = this.http.address()
    return typeof address === 'object' && address ? address.port : this.opts.port
  }

  /** Closes every connection with `code` and stops listening. */
  async close(code = 1001, reason = 'going away'): Promise<void> {
    clearInterval(this.pingTimer)
    await Promise.all([
      ...[...this.conns.values()].map((conn) => closeGracefully(conn.ws, code, reason)),
      ...[...this.endpoints.values()].map((e) => e.close(code, reason)),
    ])
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve())
      this.http.closeAllConnections()
    })
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    const path = (req.url ?? '/').split('?')[0]
    const endpoint = this.endpoints.get(path)
    if (path !== WS_PATH && !endpoint) return refuse(socket, {status: 404, msg: `no WebSocket endpoint at ${path}; use ${WS_PATH}`})
    const refusal = this.opts.checkUpgrade?.(req)
    if (refusal) return refuse(socket, refusal)
    if (endpoint) return endpoint.handleUpgrade(req, socket, head)
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req))
  }

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    const role = req.headers['x-peerlink-role'] === 'node' ? 'node' : 'client'
    const conn = new Conn(ws, req.socket.remoteAddress ?? 'unknown', req.socket.remotePort ?? 0, role)
    this.conns.set(conn.id, conn)
    ws.on('error', () => {
      // ws closes the socket itself (1009 too big, 1007 bad UTF-8...); 'close' follows
    })
    ws.on('pong', () => {
      conn.lastSeenMs = Date.now()
    })
    ws.on('message', (data, isBinary) => {
      conn.lastSeenMs = Date.now()
      if (isBinary) return this.reject(conn, 'binary frames are not supported: send text frames such as "message hi"')
      const decoded = decodeFrame(data.toString())
      if (!decoded.ok) return this.reject(conn, decoded.error)
      if (decoded.frame.verb === 'hello') return this.onHello(conn, decoded.frame.hello)
      this.handlers.frame(conn, decoded.frame)
    })
    ws.on('close', (code, reason) => {
      this.conns.delete(conn.id)
      this.handlers.close(conn, code, reason.toString())
    })
    this.handlers.open(conn)
  }

  private reject(conn: Conn, reason: string): void {
    conn.send(encodeFrame({verb: 'error', text: reason}))
    this.handlers.invalid(conn, reason)
  }

  private onHello(conn: Conn, hello: Hello): void {
    const previousRole = conn.role
    const previousId = conn.id
    // a later hello changes what it names and keeps the rest
    conn.hello = {...conn.hello, ...hello}
    const wanted = isUuid(hello.id) ? hello.id.toLowerCase() : undefined
    if (wanted !== undefined && wanted !== conn.id && !this.conns.has(wanted)) {
      this.conns.delete(conn.id)
      conn.id = wanted
      this.conns.set(conn.id, conn)
    }
    conn.send(encodeFrame({verb: 'welcome', welcome: {id: conn.id, name: this.opts.name}}))
    this.handlers.hello(conn, previousRole, previousId)
  }

  private heartbeat(): void {
    const now = Date.now()
    for (const conn of this.conns.values()) checkAlive(conn.ws, conn.lastSeenMs, now, this.opts.deadAfterMs)
  }
}

function refuse(socket: Duplex, refusal: Refusal): void {
  const body = JSON.stringify({error: true, msg: refusal.msg})
  const reason = http.STATUS_CODES[refusal.status] ?? 'Error'
  socket.end(
    `HTTP/1.1 ${refusal.status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

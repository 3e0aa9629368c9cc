import diagnostics_channel from 'node:diagnostics_channel'
import http from 'node:http'
import https from 'node:https'
import type {Duplex} from 'node:stream'
import {WebSocket, WebSocketServer, type Server as WsServer} from 'ws'
import {checkAlive} from '../client/liveness.js'
import {DEAD_AFTER_MS, PING_INTERVAL_MS} from '../protocol/defaults.js'
import {PeerlinkError} from '../protocol/errors.js'
import {closeGracefully, releaseAfterCloseHandshake} from '../client/close.js'
import {decodeFrame, encodeFrame, hotVerb, isUuid, payloadOf, PEERLINK_HEADER, type Frame, type Hello, type HotVerb} from '../protocol/frame.js'
import {CONNECTION_OPENED_CHANNEL, SUBPROTOCOL, WS_PATH} from '../protocol/defaults.js'
import {sendError, type Refusal} from '../http/respond.js'
import {maxConnectionsFor, openFileLimit, webSocketCapFor} from './limits.js'
import {coarseNowMs} from './clock.js'
import {connectionId} from './conn-id.js'
import {OncePer} from './once-per.js'
import type {ConnState} from './relay.js'

/** A client that has not sent its whole request head by then is dropped (slowloris, half-open sockets). */
export const HEADERS_TIMEOUT_MS = 10_000
/** The whole request, body included (bodies are at most 1 MiB). */
export const REQUEST_TIMEOUT_MS = 60_000
/**
 * After refusing a request whose body is still coming (413, 401), the node
 * half-closes and reads on, discarding, for at most this long before it
 * closes (a lingering close, RFC 9112 §9.6): closing with unread data makes
 * the kernel reset the connection, and the client may lose the answer.
 */
export const LINGER_MS = 5000
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

/** Where each accepted WebSocket connection is announced (the node's heap settings count them: src/cli/heap.ts). */
const connectionOpened = diagnostics_channel.channel(CONNECTION_OPENED_CHANNEL)

/**
 * Payloads up to this size go out as one buffer with their frame header
 * (copied: one write per frame); larger ones as the header and the payload
 * as it is, two writes.
 */
const COPY_FRAME_BYTES = 4096

/**
 * Writes one WebSocket text frame carrying `payload` (a string, or UTF-8
 * bytes checked as they arrived) to the socket of a server-side connection:
 * final, unmasked (RFC 6455 §5.2), with the shortest length encoding. This
 * is what `ws.send` writes, without its per-frame option objects and its
 * two writes for a small frame. It is safe beside ws's own frames (pings,
 * the close frame) because the server negotiates no extension
 * (`perMessageDeflate: false`), so ws's sender never queues: its frames,
 * too, go to the socket at once, in order with these.
 *
 * `own`: a large payload that is a view into a shared chunk is copied into
 * memory of its own (see {@link Conn.sendFrame}).
 */
function writeTextFrame(socket: Duplex, payload: string | Buffer, own: boolean): void {
  // a string (a welcome, an error: never the relay's frames) is encoded once, then sent as bytes
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
  const n = bytes.byteLength
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(n <= COPY_FRAME_BYTES ? head + n : head)
  out[0] = 0x81
  if (head === 2) out[1] = n
  else if (head === 4) {
    out[1] = 126
    out.writeUInt16BE(n, 2)
  } else {
    out[1] = 127
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2)
    out.writeUInt32BE(n >>> 0, 6)
  }
  if (n <= COPY_FRAME_BYTES) {
    out.set(bytes, head)
    socket.write(out)
    return
  }
  socket.write(out)
  socket.write(own && n < bytes.buffer.byteLength ? copyOf(bytes) : bytes)
}

/**
 * One inbound WebSocket connection and what the server knows about it. Kept
 * small: a node may hold a hundred thousand of them.
 */
export class Conn {
  /** the id the server owns; a hello may propose another (NodeServer settles it) */
  id: string
  /** the connection's hello, once it sent one */
  hello: Hello | undefined
  lastSeenMs = Date.now()
  /** its socket is corked until the server's write batch of this event-loop turn is flushed */
  corked = false
  /** the kernel did not take everything at the last flush: bytes still wait to be written */
  backedUp = false
  /** since when more than `--max-buffer` waits to be written to it (undefined: it is not behind) */
  behindSinceMs: number | undefined
  /** while it is behind: closes it as too slow if it is still far behind after the grace */
  slowTimer: NodeJS.Timeout | undefined
  /** the remote address as a name (`ip:port`), built on first use */
  private addressName: string | undefined
  /** the remote address, read from the socket on first use (see {@link ip}) */
  private remote: {ip: string; port: number} | undefined = undefined
  /** what the relay keeps for it while it is a client (see relay.ts slotStore) */
  relayState: ConnState | undefined = undefined

  /**
   * @param upgradeRole what the upgrade's `x-peerlink-role` header said: a
   *   peer node's link says `node` there too, so that the relay never picks it
   *   before its hello arrives
   */
  constructor(
    readonly ws: WebSocket,
    /** the socket under `ws`, corked and uncorked by the write batch */
    readonly socket: Duplex & {remoteAddress?: string; remotePort?: number},
    private readonly upgradeRole: Role,
    /** the server it came in on: its write batch, and where its socket's shared listeners hand what happens */
    readonly server: NodeServer,
  ) {
    this.id = connectionId()
  }

  /** A peer node's link or a client: what the hello said, else what the upgrade said. */
  get role(): Role {
    return this.hello?.role ?? this.upgradeRole
  }

  /**
   * The remote IP address. Read from the socket the first time something
   * asks (an event that names the connection, `GET /clients`), not when it
   * connects: reading it is a system call, and a text-mode node under a load
   * test names only the few connections a second it shows. Once the socket
   * has closed, an address never read is gone: `unknown`.
   */
  get ip(): string {
    return this.address()?.ip ?? 'unknown'
  }

  /** The remote port (0 when unknown, see {@link ip}). */
  get port(): number {
    return this.address()?.port ?? 0
  }

  /** Whether the remote address was read, so that the connection can be named by it after it closed. */
  get addressKnown(): boolean {
    return this.remote !== undefined
  }

  /** The hello's name, else the remote address (`ip:port`), else (closed before anyone read that) the connection's id. */
  get name(): string {
    if (this.hello?.name) return this.hello.name
    if (this.addressName !== undefined) return this.addressName
    const remote = this.address()
    if (remote === undefined) return this.id
    this.addressName = flat(remote.ip.includes(':') ? `[${remote.ip}]:${remote.port}` : `${remote.ip}:${remote.port}`)
    return this.addressName
  }

  private address(): {ip: string; port: number} | undefined {
    if (this.remote === undefined) {
      const ip = this.socket.remoteAddress
      if (ip === undefined) return undefined
      this.remote = {ip, port: this.socket.remotePort ?? 0}
    }
    return this.remote
  }

  /** Fully open: not connecting, and no close frame sent or received. */
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  /**
   * Past the server's `--max-buffer`: more bytes wait to be written to it
   * than the bound, so the relay does not pick it as a receiver while it is.
   */
  get congested(): boolean {
    return this.ws.bufferedAmount > this.server.batch.maxBufferBytes
  }

  /**
   * Sends one text frame: a string, or the bytes of a frame as they arrived
   * (valid UTF-8, checked by ws when they came in), passed on without being
   * decoded and encoded again. Frames sent in one event-loop turn leave in
   * one write (see {@link WriteBatch}).
   */
  send(data: string | Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    if (!this.corked) this.server.batch.cork(this)
    // A frame's bytes are a view into the chunk its socket read (with the
    // frames read beside it); while they wait to be written they keep that
    // chunk alive. A small frame is copied out anyway; a large one on a
    // socket that is behind, where it may wait long, goes as a copy of its
    // own, so that what a slow reader holds is what --max-buffer counts.
    writeTextFrame(this.socket, data, this.backedUp)
  }

  /** The bytes of a text frame as it arrived (see {@link send}): what the relay passes on. */
  sendFrame(bytes: Buffer): void {
    this.send(bytes)
  }
}

/**
 * The WebSocket of a relay connection: ws's own, with a slot for its
 * connection, so that one set of listener functions serves every socket (a
 * closure per socket and event, with the scope they share, would be most of
 * what a node holds for an idle connection beyond ws's own objects).
 */
class ConnSocket extends WebSocket {
  conn: Conn | undefined = undefined
}

function onSocketMessage(this: ConnSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const conn = this.conn as Conn
  // a text or binary message as one Buffer (ws's default binaryType, fragments joined)
  conn.server.received(conn, data as Buffer, isBinary)
}

function onSocketPong(this: ConnSocket): void {
  ;(this.conn as Conn).lastSeenMs = Date.now()
}

function onSocketClose(this: ConnSocket, code: number, reason: Buffer): void {
  const conn = this.conn as Conn
  conn.server.closed(conn, code, reason.toString())
}

/**
 * The writes of one event-loop turn, batched per socket: the first frame a
 * connection is sent in a turn corks its socket, and one `setImmediate` per
 * turn uncorks them all, so that every frame a socket was sent while the
 * node handled that turn's reads leaves in one `writev` (one syscall, and
 * fewer TCP segments for the reader to take in) instead of one each.
 *
 * After each flush it is also where a slow reader shows: whatever the kernel
 * did not take stays buffered in the process. A connection with more than
 * `--max-buffer` waiting is *behind*: the relay does not pick it (see
 * {@link Conn.congested}) and the node stops reading from it until all of it
 * was written (a client cannot make the node hold more for it by sending
 * faster than it reads: TCP pushes back on it). One that is still behind
 * after {@link SLOW_READER_GRACE_MS} with more than twice `--max-buffer`
 * waiting is closed with 1008 "too slow". The grace lets a reader that keeps
 * up take a burst larger than the bound (the frames of one turn can be).
 */
export class WriteBatch {
  private corked: Conn[] = []
  private scheduled = false
  private readonly flushNow = () => this.flush()

  constructor(
    /** a connection with more than this waiting to be written is behind */
    readonly maxBufferBytes: number,
    /** told about a connection still behind after the grace with more than twice that waiting */
    private readonly tooSlow: (conn: Conn) => void,
  ) {}

  cork(conn: Conn): void {
    conn.corked = true
    conn.socket.cork()
    this.corked.push(conn)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushNow)
    }
  }

  /** Uncorks every socket corked since the last flush (each socket's frames leave in one write). */
  flush(): void {
    this.scheduled = false
    const list = this.corked
    this.corked = []
    for (const conn of list) {
      conn.corked = false
      conn.socket.uncork()
      const waiting = conn.ws.bufferedAmount
      conn.backedUp = waiting > 0
      if (waiting <= this.maxBufferBytes || conn.ws.readyState !== WebSocket.OPEN) continue
      if (conn.behindSinceMs === undefined) this.fellBehind(conn)
      else this.checkSlow(conn)
    }
  }

  /** The connection stops being read until everything waiting for it was written ('drain'). */
  private fellBehind(conn: Conn): void {
    conn.behindSinceMs = Date.now()
    conn.ws.pause()
    // a write was refused (the buffer is past the stream's high-water mark), so 'drain' comes once all is written
    conn.socket.once('drain', () => {
      conn.behindSinceMs = undefined
      clearTimeout(conn.slowTimer)
      conn.slowTimer = undefined
      conn.ws.resume()
    })
    conn.slowTimer = setTimeout(() => {
      conn.slowTimer = undefined
      if (conn.behindSinceMs !== undefined) this.checkSlow(conn)
    }, SLOW_READER_GRACE_MS)
    conn.slowTimer.unref()
  }

  private checkSlow(conn: Conn): void {
    const behindMs = Date.now() - (conn.behindSinceMs as number)
    if (behindMs >= SLOW_READER_GRACE_MS && conn.ws.bufferedAmount > 2 * this.maxBufferBytes && conn.ws.readyState === WebSocket.OPEN) {
      clearTimeout(conn.slowTimer)
      this.tooSlow(conn)
    }
  }
}

export interface ServerOptions {
  name: string
  host: string
  port: number
  maxPayloadBytes: number
  /**
   * A connection with more bytes than this waiting to be written (its reader
   * is slower than what it is sent) is not picked as a receiver; past twice
   * this for longer than a second it is closed with 1008 "too slow"
   * (see {@link WriteBatch}). Default {@link maxBufferDefault}.
   */
  maxBufferBytes?: number
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
  /**
   * `message X` and `ok X`, the relay's hot path: the payload decoded, and the
   * frame's bytes as they arrived, to be passed on as they are
   */
  relay(conn: Conn, verb: HotVerb, text: string, bytes: Buffer): void
  /** every other valid frame but hello (a `message`/`ok` always goes to `relay`) */
  frame(conn: Conn, frame: Frame): void
  /** a frame was invalid; the server already answered with an `error` frame */
  invalid(conn: Conn, reason: string): void
  close(conn: Conn, code: number, reason: string): void
  /**
   * the connection was closed with 1008 "too slow": more than twice
   * `maxBufferBytes` waited to be written to it. It is no longer open (its
   * close event comes once the close handshake ends or times out); what it
   * held should go elsewhere now.
   */
  slow?(conn: Conn, bufferedBytes: number): void
  /**
   * accepting a connection failed (EMFILE: out of file descriptors; a failed
   * TLS handshake); the open ones keep being served. Rate-limited by the server.
   */
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

/** The default of `--max-buffer`: a few frames of the largest size the node accepts. */
export function maxBufferDefault(maxPayloadBytes: number): number {
  return 4 * maxPayloadBytes
}

/** How long a connection closed for being too slow may take to answer the close frame before it is cut off. */
export const SLOW_CLOSE_WAIT_MS = 5000
/** A connection behind (past `--max-buffer`) for this long with more than twice that waiting is closed as too slow. */
export const SLOW_READER_GRACE_MS = 1000

/** At most one "cannot accept" line per this interval, however many connections are refused. */
export const ACCEPT_FAILED_LOG_INTERVAL_MS = 5000
/** What a refused upgrade is told when the node holds all the WebSockets it can (seconds). */
export const RETRY_AFTER_S = 5
/** At most one line per peer address and this interval about failed TLS handshakes. */
export const TLS_FAILED_LOG_INTERVAL_MS = 60_000

/**
 * HTTP and the WebSocket endpoint `/ws` on one port. Owns the connections:
 * ids, hello/welcome, frame decoding and rejection, ping/pong liveness.
 * What frames mean is the handlers' business.
 */
export class NodeServer {
  readonly http: http.Server
  private readonly wss: WsServer<typeof ConnSocket>
  /** the open connections, by the id the server settled */
  private readonly conns = new Map<string, Conn>()
  private readonly endpoints = new Map<string, UpgradeEndpoint>()
  private pingTimer: NodeJS.Timeout | undefined
  /** WebSockets this node may hold under its open-file limit (undefined: no limit known); set by listen() */
  private webSocketCap: number | undefined
  /** reports "WebSocket connection limit reached" at most once per interval */
  private readonly capReports = new OncePer(ACCEPT_FAILED_LOG_INTERVAL_MS)
  private readonly opts: Required<Omit<ServerOptions, 'tls' | 'checkUpgrade' | 'openFileLimit'>> & ServerOptions
  /** the write batch of every connection (internal: Conn uses it) */
  readonly batch: WriteBatch

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
      // after the spread: an option passed as undefined means the default too
      maxBufferBytes: opts.maxBufferBytes ?? maxBufferDefault(opts.maxPayloadBytes),
    }
    this.batch = new WriteBatch(this.opts.maxBufferBytes, (conn) => this.tooSlow(conn))
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      // plain HTTP to the WebSocket endpoint: say what it takes (RFC 9110 §15.5.22)
      if (isWsPath(pathOf(req.url))) return sendRefusal(res, UPGRADE_REQUIRED)
      if (hasBody(req)) res.once('prefinish', () => lingerIfRefused(req, res))
      handlers.request(req, res)
    }
    const limits: http.ServerOptions = {
      headersTimeout: this.opts.headersTimeoutMs,
      requestTimeout: this.opts.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    }
    this.http = opts.tls ? https.createServer({...limits, cert: opts.tls.cert, key: opts.tls.key}, onRequest) : http.createServer(limits, onRequest)
    // Expect: 100-continue: whatever answers without the body (401, 404, 405,
    // 413 by Content-Length) has answered once the handler's synchronous part
    // and its promise callbacks ran; only a handler that waits for the body
    // makes the client send it.
    this.http.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      onRequest(req, res)
      setImmediate(() => {
        if (!res.headersSent && !res.writableEnded) res.writeContinue()
      })
    })
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // malformed HTTP, oversized headers: answer if we still can, never crash
      if (socket.writable) {
        const status =
          err.code === 'HPE_HEADER_OVERFLOW'
            ? '431 Request Header Fields Too Large'
            : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
              ? '408 Request Timeout'
              : '400 Bad Request'
        endAndLinger(socket, `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
      } else {
        socket.destroy()
      }
    })
    this.wss = new WebSocketServer<typeof ConnSocket>({
      WebSocket: ConnSocket,
      noServer: true,
      maxPayload: opts.maxPayloadBytes,
      // ws's default, said here because Conn's writeTextFrame relies on it
      perMessageDeflate: false,
      clientTracking: false,
      // ws would answer the first protocol offered, so a client offering "chat"
      // would believe the node speaks chat: select ours or none.
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    })
    // What ws still finds wrong after handshakeProblem (a malformed
    // Sec-WebSocket-Protocol list) is answered as JSON like every other error,
    // not with ws's text/html page.
    this.wss.on('wsClientError', (err, socket) => refuse(socket, {status: 400, msg: `bad WebSocket handshake: ${err.message}`}))
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
    // serving the open ones. Below that socket cap, a smaller one for
    // WebSockets keeps sockets in reserve: upgrades past it get 503 with
    // Retry-After, and /healthz and /stats still answer.
    const fdLimit = this.opts.openFileLimit ?? openFileLimit()
    const maxConnections = maxConnectionsFor(fdLimit)
    if (maxConnections !== undefined) this.http.maxConnections = maxConnections
    this.webSocketCap = webSocketCapFor(fdLimit)
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
    // A certificate nobody trusts, plain http to the TLS port: each failure is
    // silent to the operator unless said here, once per address and interval.
    const tlsFailures = new OncePer(TLS_FAILED_LOG_INTERVAL_MS)
    // By the time a handshake has failed the socket may be gone, and with it
    // its address: read it when the TCP connection comes in (Node caches it on
    // the raw socket, which the TLS socket keeps as its parent).
    if (this.opts.tls) this.http.on('connection', (raw: Duplex & {remoteAddress?: string}) => void raw.remoteAddress)
    this.http.on('tlsClientError', (err: NodeJS.ErrnoException & {reason?: string}, socket: Duplex & {remoteAddress?: string; _parent?: {remoteAddress?: string}}) => {
      const address = socket.remoteAddress ?? socket._parent?.remoteAddress ?? 'unknown'
      if (!tlsFailures.allow(address)) return
      const seconds = TLS_FAILED_LOG_INTERVAL_MS / 1000
      this.handlers.acceptFailed?.(`TLS handshake with ${address} failed: ${describeTlsFailure(err)}; further failures from ${address} are not shown for ${seconds}s`)
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
    // not a closure here: it would keep this call's scope (the request, its headers, `head`) for the socket's life
    socket.on('error', destroySocket)
    const path = pathOf(req.url)
    const endpoint = this.endpoints.get(path)
    if (!isWsPath(path) && !endpoint) return refuse(socket, {status: 404, msg: `no WebSocket endpoint at ${path}; use ${WS_PATH}`})
    // a broken handshake first (it says nothing about the node), then token and origin, then room
    const refusal = handshakeProblem(req) ?? this.opts.checkUpgrade?.(req) ?? this.capacityProblem()
    if (refusal) return refuse(socket, refusal)
    if (endpoint) return endpoint.handleUpgrade(req, socket, head)
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, socket))
  }

  /** A 503 when the node holds all the WebSockets its open-file limit allows (reported once per interval). */
  private capacityProblem(): Refusal | undefined {
    if (this.webSocketCap === undefined || this.connectionCount < this.webSocketCap) return undefined
    if (this.capReports.allow('cap')) {
      this.handlers.acceptFailed?.(
        `WebSocket connection limit reached (${this.webSocketCap} under ulimit -n ${this.opts.openFileLimit ?? openFileLimit()}): new upgrades get 503, the open ones are still served; raise the limit (ulimit -n)`,
      )
    }
    return {
      status: 503,
      msg: `this node holds all the WebSocket connections it can (${this.webSocketCap}); try again later`,
      headers: {'retry-after': String(RETRY_AFTER_S)},
    }
  }

  private accept(ws: ConnSocket, req: http.IncomingMessage, socket: Duplex): void {
    const role = req.headers['x-peerlink-role'] === 'node' ? 'node' : 'client'
    const conn = new Conn(ws, socket, role, this)
    ws.conn = conn
    this.conns.set(conn.id, conn)
    // ws handles the socket's errors from now on; the upgrade's own listener would only cost a listener array
    socket.off('error', destroySocket)
    ws.on('error', ignoreSocketError)
    // ws calls them with the socket as `this`
    ws.on('pong', onSocketPong as () => void)
    ws.on('message', onSocketMessage as (data: WebSocket.RawData, isBinary: boolean) => void)
    ws.on('close', onSocketClose as (code: number, reason: Buffer) => void)
    releaseAfterCloseHandshake(ws, socket)
    if (connectionOpened.hasSubscribers) connectionOpened.publish(conn)
    this.handlers.open(conn)
  }

  /** A frame from `conn` (internal: its socket's listener calls it). */
  received(conn: Conn, data: Buffer, isBinary: boolean): void {
    // a coarse clock: frames come by the thousand a second, liveness counts in seconds
    conn.lastSeenMs = coarseNowMs()
    if (isBinary) return this.reject(conn, 'binary frames are not supported: send text frames such as "message hi"')
    // the relay's two verbs are read from the bytes; every other frame is decoded in full
    const hot = hotVerb(data)
    if (hot !== undefined) return this.handlers.relay(conn, hot, payloadOf(data, hot), data)
    const decoded = decodeFrame(data.toString())
    if (!decoded.ok) return this.reject(conn, decoded.error)
    if (decoded.frame.verb === 'hello') return this.onHello(conn, decoded.frame.hello)
    this.handlers.frame(conn, decoded.frame)
  }

  /** `conn` closed (internal: its socket's listener calls it). */
  closed(conn: Conn, code: number, reason: string): void {
    clearTimeout(conn.slowTimer)
    this.conns.delete(conn.id)
    this.handlers.close(conn, code, reason)
  }

  /** Closes a connection whose reader is too slow (see {@link WriteBatch}); the relay hands on what it held at once. */
  private tooSlow(conn: Conn): void {
    const buffered = conn.ws.bufferedAmount
    void closeGracefully(conn.ws, 1008, 'too slow', SLOW_CLOSE_WAIT_MS)
    this.handlers.slow?.(conn, buffered)
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

/** A copy of `bytes` in memory of its own (not a slice of a shared pool). */
function copyOf(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes.byteLength)
  bytes.copy(out)
  return out
}

/**
 * `s` as one flat string. A string built by concatenation (a template) is
 * a tree of pieces in V8; kept for a connection's life, that is much of
 * what a connection's name costs. Only for short ASCII strings.
 */
function flat(s: string): string {
  if (s.length > FLAT_SCRATCH.length) return s
  const n = FLAT_SCRATCH.write(s, 0, 'latin1')
  return FLAT_SCRATCH.toString('latin1', 0, n)
}
/** where {@link flat} copies through (an address name is well under its size) */
const FLAT_SCRATCH = Buffer.allocUnsafe(64)

/** An upgraded socket's error listener: the socket goes (a closure made per upgrade would keep the request alive with it). */
function destroySocket(this: Duplex): void {
  this.destroy()
}

/** ws closes the socket itself on a protocol error (1009 too big, 1007 bad UTF-8...); 'close' follows. */
function ignoreSocketError(): void {}

/** The WebSocket endpoint, with or without a trailing slash (`/ws/` is the same place to anyone typing a URL). */
function isWsPath(path: string): boolean {
  return path === WS_PATH || path === `${WS_PATH}/`
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/'
  const q = raw.indexOf('?')
  return q < 0 ? raw : raw.slice(0, q)
}

const UPGRADE_REQUIRED: Refusal = {
  status: 426,
  msg: `${WS_PATH} is the WebSocket endpoint: connect with a WebSocket client (GET with "Upgrade: websocket"), e.g. ws://HOST:PORT${WS_PATH}`,
  headers: {upgrade: 'websocket', connection: 'Upgrade'},
}

/** RFC 6455 §4.1: 16 random bytes, base64. */
const WS_KEY = /^[+/0-9A-Za-z]{22}==$/

/**
 * What is wrong with an upgrade request as a WebSocket opening handshake
 * (RFC 6455 §4.1/§4.4), checked before ws sees it so that every refusal is
 * JSON with the status the RFC asks for; undefined when it is a good one.
 */
export function handshakeProblem(req: http.IncomingMessage): Refusal | undefined {
  if (req.method !== 'GET') return {status: 405, msg: `a WebSocket handshake is a GET request, not ${req.method}`, headers: {allow: 'GET'}}
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
    return {...UPGRADE_REQUIRED, msg: `this endpoint upgrades to websocket only, not "${req.headers.upgrade ?? ''}"`}
  }
  const version = req.headers['sec-websocket-version']
  if (version !== '13') {
    return {
      status: 426,
      msg: `${version === undefined ? 'no Sec-WebSocket-Version' : `WebSocket version "${version}" is not supported`}: this node speaks version 13 (RFC 6455)`,
      headers: {'sec-websocket-version': '13'},
    }
  }
  const key = req.headers['sec-websocket-key']
  if (key === undefined || !WS_KEY.test(key)) return {status: 400, msg: 'Sec-WebSocket-Key must be 16 random bytes in base64 (RFC 6455 §4.1)'}
  return undefined
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}

/**
 * Called as an answer is finished: when it says `connection: close` while
 * the request's body is still coming, Node would destroy the socket right
 * after writing it (destroySoon), resetting the connection under a client
 * still sending. Replace that with a lingering close on this socket: send
 * the answer and a FIN, keep reading and discarding until the client closes
 * its side, at most {@link LINGER_MS}.
 */
function lingerIfRefused(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.complete || String(res.getHeader('connection')).toLowerCase() !== 'close') return
  const socket = req.socket
  socket.destroySoon = () => {
    const timer = setTimeout(() => socket.destroy(), LINGER_MS)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
    // Node's HTTP parser still reads this socket: the rest of the body is
    // dropped as the request's, and the client's FIN ends it (clientError)
    socket.end()
    socket.resume()
  }
}

/** Answers a plain HTTP request with a refusal, JSON like every error. */
function sendRefusal(res: http.ServerResponse, refusal: Refusal): void {
  for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value)
  sendError(res, refusal.status, refusal.msg)
}

/** Why a TLS handshake failed, from the server's side, in words an operator can act on. */
export function describeTlsFailure(err: NodeJS.ErrnoException & {reason?: string}): string {
  const reason = err.reason ?? err.message.split('\n')[0]
  switch (err.code) {
    case 'ERR_SSL_HTTP_REQUEST':
      return `a plain http request (${err.code}): the client must use https:// or wss://`
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return 'no handshake within the timeout'
    case 'ECONNRESET':
      return 'the client closed the connection during the handshake (clients that do not trust the certificate do that: do they have the CA, --ca?)'
  }
  if (/alert (bad certificate|unknown ca|certificate unknown)/.test(reason)) return `the client refused the certificate (${reason}): does it trust the CA (--ca)?`
  return err.code ? `${reason} (${err.code})` : reason
}

/** Refuses an upgrade on its raw socket: the status, the refusal's headers, the JSON error body; then closes. */
function refuse(socket: Duplex, refusal: Refusal): void {
  const body = JSON.stringify({error: true, msg: refusal.msg})
  const reason = http.STATUS_CODES[refusal.status] ?? 'Error'
  const headers: Record<string, string> = {
    ...refusal.headers,
    // an Upgrade header goes with the "upgrade" connection option (RFC 9110 §7.8)
    connection: refusal.headers?.upgrade ? 'Upgrade, close' : 'close',
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  }
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  endAndLinger(socket, `HTTP/1.1 ${refusal.status} ${reason}\r\n${head}\r\n${body}`)
}

/**
 * Writes a last answer on a socket Node no longer manages (an upgrade, a
 * request it could not parse) and half-closes it, then reads and discards
 * until the client closes its side, at most {@link LINGER_MS}. A bare end()
 * would leave the descriptor open for as long as the client keeps its side
 * open; a destroy() would reset a client still sending.
 */
function endAndLinger(socket: Duplex, answer: string): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
  // the client's FIN: both sides are done
  socket.once('end', () => socket.destroy())
  socket.end(answer)
  socket.resume()
}

import {readFileSync} from 'node:fs'
import type {IncomingMessage, ServerResponse} from 'node:http'
import path from 'node:path'
import type {Duplex} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {WebSocket, WebSocketServer} from 'ws'
import {closeGracefully, releaseAfterCloseHandshake} from '../client/close.js'
import {checkAlive} from '../client/liveness.js'
import {PING_INTERVAL_MS} from '../protocol/defaults.js'
import {PeerlinkError} from '../protocol/errors.js'
import {HttpError, readJson, sendError, sendJson} from './respond.js'
import type {Router} from './router.js'

/** One node event as the node reports it (`node/events.ts`), seen from here as plain data. */
export type ConsoleEvent = {event: string} & Record<string, unknown>

/** What the console needs of a node: narrow, so http/ never reaches into the node. */
export interface ConsoleSource {
  readonly name: string
  /** the node's WebSocket URL */
  readonly url: string
  /** `GET /stats`'s figures */
  stats(): {connections: number} & object
  /** the node's outbound peer links */
  peerInfo(): object[]
  /** sends `text` to every peer link like `1 <text>`; the peers it was queued for; a PeerlinkError when there is none */
  send(text: string): Array<{name: string; url: string; up: boolean}>
  /** calls `listener` with every node event until the returned function is called */
  subscribe(listener: (ev: ConsoleEvent) => void): () => void
  /** client messages relayed so far */
  relayedTotal(): number
}

/** Where the console's WebSocket event stream is served. */
export const EVENTS_PATH = '/events'

/**
 * The console's static files, served without the token (they hold no data):
 * the page at `/`, the rest under `/console/`. A fixed list, so no request
 * path ever becomes a file path.
 */
const ASSETS: Record<string, {file: string; type: string}> = {
  '/': {file: 'index.html', type: 'text/html; charset=utf-8'},
  '/console/console.js': {file: 'console.js', type: 'text/javascript; charset=utf-8'},
  '/console/console.css': {file: 'console.css', type: 'text/css; charset=utf-8'},
  '/console/icon.svg': {file: 'icon.svg', type: 'image/svg+xml'},
}

/** Whether `path` is one of the console's static files (public, like `/healthz`). */
export function isConsoleAsset(path: string): boolean {
  return Object.hasOwn(ASSETS, path)
}

/**
 * No inline script or style, nothing from another origin: data shown on the
 * page can never become code, even if some text were inserted as HTML by
 * mistake. `connect-src 'self'` covers the same-origin ws:/wss: stream.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  // the page may be opened as /?token=...: never send that address anywhere
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
}

/**
 * The built files live in `dist/web/` next to `dist/http/`. Run from the
 * TypeScript sources (`bin/dev.js`), this file is `src/http/console.ts` and
 * the page script exists only once built, so the built folder is used too.
 */
function webDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const root = path.dirname(path.dirname(here))
  return path.basename(path.dirname(here)) === 'src' ? path.join(root, 'dist', 'web') : path.join(here, '..', 'web')
}

const fileCache = new Map<string, Buffer>()

function asset(file: string): Buffer {
  let body = fileCache.get(file)
  if (!body) {
    try {
      body = readFileSync(path.join(webDir(), file))
    } catch {
      throw new HttpError(500, `console file ${file} is missing: run npm run build`)
    }
    fileCache.set(file, body)
  }
  return body
}

/** Longer console messages are refused (400); the REPL and clients are the way to send big payloads. */
export const MAX_SEND_CHARS = 64 * 1024

/**
 * The console's routes: the page (`GET /`), its files (`GET /console/...`)
 * and its one action besides the existing routes, `POST /send {"text"}`,
 * which sends like `1 <text>` and answers the peers it was queued for.
 */
export function addConsoleRoutes(router: Router, source: ConsoleSource): void {
  for (const [route, {file, type}] of Object.entries(ASSETS)) {
    router.add('GET', route, (_req, res) => {
      const body = asset(file)
      res.writeHead(200, {...SECURITY_HEADERS, 'content-type': type, 'content-length': body.length})
      res.end(body)
    })
  }
  router.add('POST', '/send', async (req: IncomingMessage, res: ServerResponse) => {
    // zod and the schema load with the first body (see bodies.ts)
    const [json, {sendBody}] = await Promise.all([readJson(req), import('./bodies.js')])
    const parsed = sendBody(MAX_SEND_CHARS).safeParse(json)
    if (!parsed.success) throw new HttpError(400, `bad body: expected {"text":"<message>"}, 1 to ${MAX_SEND_CHARS} characters`)
    try {
      const queued = source.send(parsed.data.text)
      sendJson(res, 200, {error: false, msg: '', text: parsed.data.text, queued: queued.map(({name, url, up}) => ({name, url, up}))})
    } catch (err) {
      if (err instanceof PeerlinkError && err.code === 'NO_PEER') return sendError(res, 409, err.message)
      throw err
    }
  })
}

/** Up to this many fast events (relayed, client connects) a second are streamed one by one; the rest are folded. */
export const FAST_EVENTS_PER_SECOND = 10
/** The stream sends a `tick` (stats, peers, one chart sample) this often. */
export const TICK_MS = 1000
/** Chart samples kept: ten minutes of one a second. */
export const HISTORY_SAMPLES = 600
/** A page that reads more slowly than the node writes loses events beyond this backlog (counted, never buffered without end). */
export const MAX_BUFFERED_BYTES = 1024 * 1024
/** The page sends nothing; anything larger than this closes its stream. */
const MAX_INBOUND_BYTES = 1024

interface Sample {
  /** epoch ms */
  t: number
  relayed: number
  connections: number
}

interface Viewer {
  lastSeenMs: number
  /** events not sent because the page was not reading */
  dropped: number
}

type FoldedKind = 'relayed' | 'connected' | 'disconnected'

/** Which events are high-rate and folded when fast (as the text renderer folds them). */
function foldedKind(ev: ConsoleEvent): FoldedKind | undefined {
  if (ev.event === 'message_relayed') return 'relayed'
  if (ev.event === 'client_connected' && ev.role !== 'node') return 'connected'
  if (ev.event === 'client_disconnected' && ev.role !== 'node') return 'disconnected'
  return undefined
}

/**
 * The console's live stream at {@link EVENTS_PATH}: a WebSocket (upgraded by
 * the node's server after its token and Origin checks) that never joins the
 * relay. It sends JSON frames, one `{"type":...}` object each:
 *
 * - `hello`: node name and URL, uptime, the chart history;
 * - `event`: `data` is one node event exactly as `--json` prints it;
 * - `folded`: how many fast events the last second left out;
 * - `tick`: every second, the stats, the peer links and one chart sample.
 *
 * The page sends nothing; its actions are HTTP calls.
 */
export class ConsoleEvents {
  private readonly wss = new WebSocketServer({noServer: true, maxPayload: MAX_INBOUND_BYTES, clientTracking: false})
  private readonly viewers = new Map<WebSocket, Viewer>()
  private unsubscribe: (() => void) | undefined
  private readonly history: Sample[] = []
  private readonly startedMs = Date.now()
  private lastRelayed: number
  private readonly sampler: NodeJS.Timeout
  private lastPingMs = Date.now()
  private shown = 0
  private folded: Record<FoldedKind, number> = {relayed: 0, connected: 0, disconnected: 0}
  private readonly nodeJson: string

  constructor(private readonly source: ConsoleSource) {
    this.nodeJson = JSON.stringify(source.name)
    this.lastRelayed = source.relayedTotal()
    // sampled with or without a page open, so a page opened now shows the last minutes
    this.sampler = setInterval(() => this.tick(), TICK_MS)
    this.sampler.unref()
  }

  /** For NodeServer: the upgrade already passed the token and Origin checks. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      releaseAfterCloseHandshake(ws, socket)
      this.accept(ws)
    })
  }

  /** Closes every stream and stops sampling. */
  async close(code: number, reason: string): Promise<void> {
    clearInterval(this.sampler)
    this.unsubscribe?.()
    this.unsubscribe = undefined
    await Promise.all([...this.viewers.keys()].map((ws) => closeGracefully(ws, code, reason)))
  }

  private accept(ws: WebSocket): void {
    const viewer: Viewer = {lastSeenMs: Date.now(), dropped: 0}
    this.viewers.set(ws, viewer)
    // only while someone watches does the node pay for this listener
    this.unsubscribe ??= this.source.subscribe((ev) => this.onEvent(ev))
    ws.on('error', () => {})
    ws.on('pong', () => {
      viewer.lastSeenMs = Date.now()
    })
    ws.on('message', () => {
      viewer.lastSeenMs = Date.now()
    })
    ws.on('close', () => {
      this.viewers.delete(ws)
      if (this.viewers.size === 0) {
        this.unsubscribe?.()
        this.unsubscribe = undefined
      }
    })
    const hello = {type: 'hello', node: this.source.name, url: this.source.url, uptime_ms: Date.now() - this.startedMs, tick_ms: TICK_MS, history: this.history}
    ws.send(JSON.stringify(hello))
    ws.send(JSON.stringify(this.tickFrame(viewer)))
  }

  private onEvent(ev: ConsoleEvent): void {
    const kind = foldedKind(ev)
    if (kind) {
      if (this.shown >= FAST_EVENTS_PER_SECOND) {
        this.folded[kind]++
        return
      }
      this.shown++
    }
    // the same object --json prints: ts and node first, then the event's own fields
    this.broadcast(`{"type":"event","data":{"ts":"${new Date().toISOString()}","node":${this.nodeJson},${JSON.stringify(ev).slice(1)}}`)
  }

  private broadcast(text: string): void {
    for (const [ws, viewer] of this.viewers) {
      if (ws.readyState !== WebSocket.OPEN) continue
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) viewer.dropped++
      else ws.send(text)
    }
  }

  private tick(): void {
    const now = Date.now()
    const relayed = this.source.relayedTotal()
    this.history.push({t: now, relayed: relayed - this.lastRelayed, connections: this.source.stats().connections})
    this.lastRelayed = relayed
    if (this.history.length > HISTORY_SAMPLES) this.history.shift()
    if (this.viewers.size === 0) return
    const {relayed: r, connected, disconnected} = this.folded
    if (r + connected + disconnected > 0) {
      this.broadcast(JSON.stringify({type: 'folded', ts: new Date(now).toISOString(), relayed: r, connected, disconnected, per_second: FAST_EVENTS_PER_SECOND}))
    }
    this.folded = {relayed: 0, connected: 0, disconnected: 0}
    this.shown = 0
    const ping = now - this.lastPingMs >= PING_INTERVAL_MS
    if (ping) this.lastPingMs = now
    for (const [ws, viewer] of this.viewers) {
      if (ping) checkAlive(ws, viewer.lastSeenMs, now)
      if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount <= MAX_BUFFERED_BYTES) ws.send(JSON.stringify(this.tickFrame(viewer)))
    }
  }

  private tickFrame(viewer: Viewer): object {
    return {
      type: 'tick',
      ts: new Date().toISOString(),
      uptime_ms: Date.now() - this.startedMs,
      stats: this.source.stats(),
      peers: this.source.peerInfo(),
      sample: this.history.at(-1),
      dropped: viewer.dropped,
    }
  }
}

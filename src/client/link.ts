import {EventEmitter} from 'node:events'
import {randomUUID} from 'node:crypto'
import WebSocket from 'ws'
import {decodeFrame, encodeFrame, type Hello} from '../protocol/frame.js'
import {SeenCache} from '../protocol/seen.js'
import {backoffMs, LINK_BACKOFF} from '../protocol/backoff.js'
import {ACK_DELAY_MS_DEFAULT, ACK_TIMEOUT_MS_DEFAULT, CLOSE_WAIT_MS, PING_INTERVAL_MS, SEEN_TTL_MS} from '../protocol/defaults.js'
import {OwedAcks} from './acks.js'
import {runClientCommand} from './reverse-answers.js'
import {dial, type DialOptions} from './dial.js'
import {checkAlive} from './liveness.js'
import {describeClose, describeError} from './wire-errors.js'

/** A server that never answers hello (a bare relay) is used anyway after this wait. */
export const WELCOME_WAIT_MS = 1000

export interface LinkOptions extends DialOptions {
  url: string
  /** what this side says in its `hello`; the id is kept across reconnects */
  hello: Hello
  /** wait before the first dial */
  graceMs?: number
  /** an own message without `ok` after this long makes the link reconnect and resend */
  ackTimeoutMs?: number
  /** delay before answering `ok Y`; a function draws one per message */
  ackDelayMs?: number | (() => number)
  /** give up after this many consecutive failures without progress; unset = retry forever */
  maxRetries?: number
}

export interface LinkEvents {
  /** the socket is open and the server answered hello (or did not within a second); pending messages go out now */
  up: [info: {url: string; id: string; name: string | undefined}]
  down: [info: {reason: string; code: number}]
  dial_failed: [info: {reason: string; attempt: number; retryInMs: number}]
  received: [info: {text: string; repeat: boolean}]
  sent: [info: {text: string; attempt: number}]
  acked: [info: {text: string; rttMs: number}]
  /** the link is about to reconnect because of a failure */
  retry: [info: {reason: string; attempt: number}]
  gave_up: [info: {reason: string; pending: string[]}]
  server_error: [info: {text: string}]
}

interface Pending {
  text: string
  firstSentMs: number
  attempts: number
  timer?: NodeJS.Timeout
}

/**
 * The client side of the protocol over one reconnecting WebSocket: the node's
 * outbound peer link, and the engine of `connect` and `send`.
 *
 * Delivery is at-least-once: every own message stays pending until its `ok`
 * arrives; when none comes within the ack timeout, or the socket drops, the
 * link reconnects (backoff with jitter, 100 ms doubling to 5 s) and sends every
 * pending message again.
 */
export class Link extends EventEmitter<LinkEvents> {
  readonly url: string
  /** the id this side proposes in hello; the server's welcome may replace it */
  id: string
  /** the name the other side gave in its welcome, once known */
  remoteName: string | undefined

  private readonly opts: LinkOptions
  private ws: WebSocket | undefined
  private readonly pending = new Map<string, Pending>()
  private readonly seen = new SeenCache(SEEN_TTL_MS)
  private readonly owed = new OwedAcks()
  private dialTimer: NodeJS.Timeout | undefined
  private failures = 0
  /** why the current socket is failing, when this side knows better than the close code */
  private failure: string | undefined
  private welcomeTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  /** last time anything (a frame, a pong) came from the server */
  private lastSeenMs = 0
  /** the current socket is open and welcomed: sends go straight out */
  private isReady = false
  private stopped = false
  private started = false

  constructor(opts: LinkOptions) {
    super()
    this.opts = {graceMs: 0, ackTimeoutMs: ACK_TIMEOUT_MS_DEFAULT, ackDelayMs: ACK_DELAY_MS_DEFAULT, ...opts}
    this.url = opts.url
    this.id = opts.hello.id ?? randomUUID()
  }

  /** True while the socket is open and welcomed. */
  get isUp(): boolean {
    return this.isReady && this.ws?.readyState === WebSocket.OPEN
  }

  /** Own messages not acknowledged yet. */
  get pendingCount(): number {
    return this.pending.size
  }

  /** Acknowledgements this side still owes (waiting out the ack delay). */
  get owedCount(): number {
    return this.owed.size
  }

  pendingTexts(): string[] {
    return [...this.pending.keys()]
  }

  /** Starts dialing after the grace delay. */
  start(): void {
    if (this.started) return
    this.started = true
    this.schedule(this.opts.graceMs ?? 0)
  }

  /** Sends `message text` now if the link is up, otherwise when it comes up; it stays pending until acknowledged. */
  send(text: string): void {
    if (this.stopped) return
    let p = this.pending.get(text)
    if (!p) {
      p = {text, firstSentMs: Date.now(), attempts: 0}
      this.pending.set(text, p)
    }
    if (this.isUp && p.timer === undefined) this.transmit(p)
  }

  /** Drops every pending message and returns their texts (the peer is gone for good). */
  abandon(): string[] {
    const texts = this.pendingTexts()
    for (const p of this.pending.values()) clearTimeout(p.timer)
    this.pending.clear()
    return texts
  }

  /** Stops reconnecting and closes the socket (1001 unless told otherwise); resolves once closed. */
  async close(code = 1001, reason = 'going away'): Promise<void> {
    this.stopped = true
    clearTimeout(this.dialTimer)
    clearTimeout(this.welcomeTimer)
    clearInterval(this.pingTimer)
    for (const p of this.pending.values()) clearTimeout(p.timer)
    this.owed.clear()
    const ws = this.ws
    if (!ws || ws.readyState === WebSocket.CLOSED) return
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => {
        ws.terminate()
        resolve()
      }, CLOSE_WAIT_MS)
      kill.unref()
      ws.once('close', () => {
        clearTimeout(kill)
        resolve()
      })
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
      else ws.close(code, reason)
    })
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.dialTimer)
    this.dialTimer = setTimeout(() => this.connect(), delayMs)
  }

  private backoffMs(): number {
    return backoffMs(this.failures, LINK_BACKOFF)
  }

  /** Counts a failure; returns false (and gives up) when the retry budget is spent. */
  private fail(reason: string): boolean {
    this.failures++
    if (this.opts.maxRetries !== undefined && this.failures > this.opts.maxRetries) {
      this.stopped = true
      this.emit('gave_up', {reason, pending: this.abandon()})
      return false
    }
    this.emit('retry', {reason, attempt: this.failures})
    return true
  }

  private connect(): void {
    if (this.stopped) return
    const ws = dial(this.url, {...this.opts, headers: {...this.opts.headers, 'x-peerlink-role': this.opts.hello.role ?? 'client'}})
    this.ws = ws
    this.failure = undefined
    this.isReady = false
    let opened = false

    ws.on('open', () => {
      opened = true
      this.lastSeenMs = Date.now()
      // a peer that vanished without closing (power cut, cable) is found by ping/pong
      clearInterval(this.pingTimer)
      this.pingTimer = setInterval(() => checkAlive(ws, this.lastSeenMs, Date.now()), PING_INTERVAL_MS)
      this.pingTimer.unref()
      ws.send(encodeFrame({verb: 'hello', hello: {...this.opts.hello, id: this.id}}))
      // Wait for the welcome so that events name the peer and the id is settled.
      this.welcomeTimer = setTimeout(() => this.ready(ws), WELCOME_WAIT_MS)
    })
    ws.on('pong', () => {
      this.lastSeenMs = Date.now()
    })
    ws.on('message', (data, isBinary) => {
      this.lastSeenMs = Date.now()
      if (!isBinary) this.onFrame(ws, data.toString())
    })
    ws.on('error', (err) => {
      this.failure ??= describeError(err)
    })
    ws.on('close', (code, reasonBuf) => {
      clearTimeout(this.welcomeTimer)
      if (this.ws === ws) clearInterval(this.pingTimer)
      if (this.ws === ws) {
        this.ws = undefined
        this.isReady = false
      }
      for (const p of this.pending.values()) {
        clearTimeout(p.timer)
        p.timer = undefined
      }
      if (this.stopped) return
      const reason = this.failure ?? describeClose(code, reasonBuf.toString())
      if (opened) {
        this.emit('down', {reason, code})
        if (this.fail(reason)) this.schedule(this.backoffMs())
      } else {
        if (!this.fail(reason)) return
        const retryInMs = this.backoffMs()
        this.emit('dial_failed', {reason, attempt: this.failures, retryInMs})
        this.schedule(retryInMs)
      }
    })
  }

  /** The link is usable: report it and send every pending message. */
  private ready(ws: WebSocket): void {
    clearTimeout(this.welcomeTimer)
    this.welcomeTimer = undefined
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN || this.isReady) return
    this.isReady = true
    this.emit('up', {url: this.url, id: this.id, name: this.remoteName})
    for (const p of this.pending.values()) this.transmit(p)
  }

  private transmit(p: Pending): void {
    const ws = this.ws as WebSocket
    p.attempts++
    ws.send(`message ${p.text}`)
    this.emit('sent', {text: p.text, attempt: p.attempts})
    clearTimeout(p.timer)
    p.timer = setTimeout(() => this.onAckTimeout(ws, p), this.opts.ackTimeoutMs)
  }

  private onAckTimeout(ws: WebSocket, p: Pending): void {
    p.timer = undefined
    if (this.ws !== ws || this.stopped || !this.pending.has(p.text)) return
    // Close and redial: the 'close' handler counts the failure and reconnects,
    // and the new socket sends every pending message again.
    this.failure = `no ok within ${(this.opts.ackTimeoutMs ?? 0) / 1000}s`
    ws.close(4000, 'ack timeout')
    const kill = setTimeout(() => ws.terminate(), CLOSE_WAIT_MS)
    kill.unref()
    ws.once('close', () => clearTimeout(kill))
  }

  private onFrame(ws: WebSocket, data: string): void {
    const decoded = decodeFrame(data)
    if (!decoded.ok) {
      ws.send(encodeFrame({verb: 'error', text: decoded.error}))
      return
    }
    const frame = decoded.frame
    switch (frame.verb) {
      case 'ok': {
        const p = this.pending.get(frame.text)
        if (!p) return
        clearTimeout(p.timer)
        this.pending.delete(frame.text)
        this.failures = 0
        this.emit('acked', {text: frame.text, rttMs: Date.now() - p.firstSentMs})
        return
      }
      case 'message':
        this.onMessage(ws, frame.text)
        return
      case 'welcome':
        this.id = frame.welcome.id
        this.remoteName = frame.welcome.name
        this.ready(ws)
        return
      case 'cmd':
        void runClientCommand(frame.name, frame.arg).then((body) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame({verb: 'res', n: frame.n, body}))
        })
        return
      case 'error':
        this.emit('server_error', {text: frame.text})
        return
      default:
        ws.send(encodeFrame({verb: 'error', text: `unexpected ${frame.verb} from a server`}))
    }
  }

  private onMessage(ws: WebSocket, text: string): void {
    const repeat = this.seen.check(text, Date.now())
    this.emit('received', {text, repeat})
    const delay = this.opts.ackDelayMs
    const delayMs = repeat ? 0 : typeof delay === 'function' ? delay() : (delay ?? 0)
    this.owed.schedule(delayMs, () => {
      if (ws.readyState === WebSocket.OPEN) ws.send(`ok ${text}`)
    })
  }
}

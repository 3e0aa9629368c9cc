import {EventEmitter} from 'node:events'
import {randomUUID} from 'node:crypto'
import WebSocket from 'ws'
import {backoffMs, LINK_BACKOFF} from '../protocol/backoff.js'
import {ACK_DELAY_MS_DEFAULT, ACK_TIMEOUT_MS_DEFAULT, DEAD_AFTER_MS, PING_INTERVAL_MS} from '../protocol/defaults.js'
import {decodeFrame, encodeFrame, PEERLINK_HEADER, type Hello} from '../protocol/frame.js'
import {closeGracefully} from './close.js'
import {Delivery} from './delivery.js'
import {dial, type DialOptions} from './dial.js'
import {checkAlive} from './liveness.js'
import {MemoryOutbox, outboxKey, type Outbox, type SeenLog} from './outbox.js'
import {runClientCommand} from './reverse-answers.js'
import {settle} from './settle.js'
import {describeClose, describeError} from './wire-errors.js'

/**
 * The longest a link waits for a peerlink node's `welcome` before using the
 * connection anyway. A node answers a hello at once, so this is a ceiling, not
 * a wait: a server that is not peerlink (no `x-peerlink` header on its 101) is
 * used at once.
 */
export const WELCOME_WAIT_MS = 1000

export interface OutboundLinkOptions extends DialOptions {
  url: string
  /**
   * what this side says in its `hello`. The id is kept across reconnects: an
   * id given here (a sender's identity from its state directory) is proposed
   * on every connection, so a receiver recognises resends across reconnects
   * and restarts even when the server had to settle on another id once.
   */
  hello: Hello
  /** wait before the first dial */
  graceMs?: number
  /** an own message without `ok` after this long makes the link reconnect and resend */
  ackTimeoutMs?: number
  /** delay before answering `ok Y`; a function draws one per message */
  ackDelayMs?: number | (() => number)
  /** give up after this many consecutive failures without progress; unset = retry forever */
  maxRetries?: number
  /** how long to wait for a peerlink node's welcome (default {@link WELCOME_WAIT_MS}) */
  welcomeWaitMs?: number
  /**
   * where own messages are kept until acknowledged (docs/architecture.md,
   * seam 2); shared by every link of a node. Default: this link's own, in memory.
   */
  outbox?: Outbox
  /** what this side has shown of what it received, beyond this process (see Delivery) */
  seenLog?: SeenLog
  /** ping the server this often (default 15 s)... */
  pingIntervalMs?: number
  /** ...and drop the socket when nothing was heard for this long (default 30 s) */
  deadAfterMs?: number
}

export interface OutboundLinkEvents {
  /** the socket is open and the server answered hello (or is not peerlink); pending messages go out now */
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
  /** nothing pending and nothing owed any more */
  settled: []
}

/**
 * Where a link is. Each state owns its timers:
 * `waiting` the dial timer (grace or backoff), `welcoming` the welcome timer,
 * `welcoming` and `up` the ping timer, `up` one ack timer per message in flight.
 */
export type OutboundLinkState = 'idle' | 'waiting' | 'connecting' | 'welcoming' | 'up' | 'closed'

interface Pending {
  text: string
  firstSentMs: number
  attempts: number
  /** recorded in the outbox: only then does it go on the wire */
  stored: boolean
  /** set while the message is on the wire of the current socket, waiting for its ok */
  ackTimer?: NodeJS.Timeout
}

/**
 * The client side of the protocol over one reconnecting WebSocket: the node's
 * outbound peer link, and the engine of `connect` and `send`.
 *
 * Delivery is at-least-once: every own message stays pending until its `ok`
 * arrives; when none comes within the ack timeout, or the socket drops, the
 * link reconnects (backoff with jitter, 100 ms doubling to 5 s) and sends every
 * pending message again, in the order they were first sent.
 *
 * Each message is recorded in the {@link Outbox} before it goes on the wire
 * and acknowledged there when its `ok` comes; a new link starts with what
 * the outbox still owes to its URL (the last run's messages, first).
 * {@link abandon} and {@link close} forget messages here, never in the
 * outbox: only an `ok` takes a message out of it.
 */
export class OutboundLink extends EventEmitter<OutboundLinkEvents> {
  readonly url: string
  /** the id this side proposes in hello; the server's welcome may replace it */
  id: string
  /** the name the other side gave in its welcome, once known */
  remoteName: string | undefined
  /** how the outbox names this link's peer: its URL, normalized */
  readonly peerKey: string
  /** messages this link took from the outbox at its start (an earlier run's, or a dropped link's) */
  readonly resumed: number

  private readonly opts: OutboundLinkOptions & {graceMs: number; ackTimeoutMs: number; welcomeWaitMs: number; pingIntervalMs: number; deadAfterMs: number}
  private current: OutboundLinkState = 'idle'
  private ws: WebSocket | undefined
  private readonly pending = new Map<string, Pending>()
  /** where this link's messages are kept until acknowledged (shared with the node's other links) */
  readonly outbox: Outbox
  private readonly delivery: Delivery
  private dialTimer: NodeJS.Timeout | undefined
  private welcomeTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  /** consecutive failures without progress, for the backoff and the retry budget */
  private failures = 0
  /** why the current socket is failing, when this side knows better than the close code */
  private failure: string | undefined
  /** last time anything (a frame, a pong) came from the server */
  private lastSeenMs = 0

  constructor(opts: OutboundLinkOptions) {
    super()
    this.opts = {
      graceMs: 0,
      ackTimeoutMs: ACK_TIMEOUT_MS_DEFAULT,
      welcomeWaitMs: WELCOME_WAIT_MS,
      pingIntervalMs: PING_INTERVAL_MS,
      deadAfterMs: DEAD_AFTER_MS,
      ...opts,
    }
    this.url = opts.url
    this.id = opts.hello.id ?? randomUUID()
    this.peerKey = outboxKey(opts.url)
    this.outbox = opts.outbox ?? new MemoryOutbox()
    const now = Date.now()
    const owed = this.outbox.owedBy(this.peerKey)
    for (const text of owed) this.pending.set(text, {text, firstSentMs: now, attempts: 0, stored: true})
    this.resumed = owed.length
    this.delivery = new Delivery({ackDelayMs: opts.ackDelayMs ?? ACK_DELAY_MS_DEFAULT, seenLog: opts.seenLog})
    this.delivery.on('settled', () => this.emitIfSettled())
  }

  /** How events name the other side: the name its welcome gave, else the URL. */
  get peerName(): string {
    return this.remoteName ?? this.url
  }

  get state(): OutboundLinkState {
    return this.current
  }

  /** True while the socket is open and welcomed. */
  get isUp(): boolean {
    return this.current === 'up' && this.ws?.readyState === WebSocket.OPEN
  }

  /** Own messages not acknowledged yet. */
  get pendingCount(): number {
    return this.pending.size
  }

  /** Acknowledgements this side still owes (waiting out the ack delay). */
  get owedCount(): number {
    return this.delivery.owed
  }

  pendingTexts(): string[] {
    return [...this.pending.keys()]
  }

  /** Starts dialing after the grace delay. */
  start(): void {
    if (this.current !== 'idle') return
    this.wait(this.opts.graceMs)
  }

  /**
   * Records `message text` in the outbox, then sends it (now if the link is
   * up, otherwise when it comes up); it stays pending until acknowledged. The
   * same text while it is still pending is the same message.
   */
  send(text: string): void {
    if (this.current === 'closed') return
    const known = this.pending.get(text)
    if (known) {
      if (known.stored && this.isUp && known.ackTimer === undefined) this.transmit(known)
      return
    }
    const p: Pending = {text, firstSentMs: Date.now(), attempts: 0, stored: false}
    this.pending.set(text, p)
    this.outbox.add(text, this.peerKey, () => {
      p.stored = true
      // the outbox calls back in the order of the sends, so the wire keeps that order
      if (this.pending.get(text) === p && this.isUp && p.ackTimer === undefined) this.transmit(p)
    })
  }

  /** Forgets every pending message here (the outbox keeps them) and returns their texts: the peer is gone, or this side stops. */
  abandon(): string[] {
    const texts = this.pendingTexts()
    for (const p of this.pending.values()) clearTimeout(p.ackTimer)
    this.pending.clear()
    this.emitIfSettled()
    return texts
  }

  /**
   * Resolves true once nothing is pending and nothing owed (a held Y would
   * cost its sender a timeout), false when `timeoutMs` passes first.
   */
  settled(timeoutMs: number): Promise<boolean> {
    return settle(
      () => this.pending.size === 0 && this.delivery.owed === 0,
      (wake) => {
        this.on('settled', wake)
        return () => this.off('settled', wake)
      },
      timeoutMs,
    ).then(() => this.pending.size === 0)
  }

  /** Stops reconnecting and closes the socket (1001 unless told otherwise); resolves once closed. */
  async close(code = 1001, reason = 'going away'): Promise<void> {
    this.enter('closed')
    for (const p of this.pending.values()) {
      clearTimeout(p.ackTimer)
      p.ackTimer = undefined
    }
    this.delivery.clear()
    const ws = this.ws
    if (!ws || ws.readyState === WebSocket.CLOSED) return
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate()
      return
    }
    await closeGracefully(ws, code, reason)
  }

  /** Moves to `next`, clearing the timers the state being left owned. */
  private enter(next: OutboundLinkState): void {
    const was = this.current
    if (was === 'closed') return
    if (was === 'waiting') {
      clearTimeout(this.dialTimer)
      this.dialTimer = undefined
    }
    if (was === 'welcoming') {
      clearTimeout(this.welcomeTimer)
      this.welcomeTimer = undefined
    }
    if ((was === 'welcoming' || was === 'up') && next !== 'up') {
      clearInterval(this.pingTimer)
      this.pingTimer = undefined
    }
    this.current = next
  }

  private wait(delayMs: number): void {
    this.enter('waiting')
    this.dialTimer = setTimeout(() => this.connect(), delayMs)
  }

  /** Counts a failure; returns false (and gives up) when the retry budget is spent. */
  private fail(reason: string): boolean {
    this.failures++
    if (this.opts.maxRetries !== undefined && this.failures > this.opts.maxRetries) {
      this.enter('closed')
      this.emit('gave_up', {reason, pending: this.abandon()})
      return false
    }
    this.emit('retry', {reason, attempt: this.failures})
    return true
  }

  private connect(): void {
    if (this.current === 'closed') return
    this.enter('connecting')
    const ws = dial(this.url, {...this.opts, headers: {...this.opts.headers, 'x-peerlink-role': this.opts.hello.role ?? 'client'}})
    this.ws = ws
    this.failure = undefined
    let opened = false
    let isPeerlink = false

    ws.on('upgrade', (res) => {
      isPeerlink = res.headers[PEERLINK_HEADER] !== undefined
    })
    ws.on('open', () => {
      opened = true
      if (this.current === 'closed') return
      this.enter('welcoming')
      this.lastSeenMs = Date.now()
      // a peer that vanished without closing (power cut, cable) is found by ping/pong
      this.pingTimer = setInterval(() => checkAlive(ws, this.lastSeenMs, Date.now(), this.opts.deadAfterMs), this.opts.pingIntervalMs)
      this.pingTimer.unref()
      ws.send(encodeFrame({verb: 'hello', hello: {...this.opts.hello, id: this.opts.hello.id ?? this.id}}))
      // A peerlink node answers the hello at once: wait for its welcome, so that
      // events name the peer and the id is settled. Any other server is used now.
      if (isPeerlink) this.welcomeTimer = setTimeout(() => this.ready(ws), this.opts.welcomeWaitMs)
      else this.ready(ws)
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
    ws.on('close', (code, reasonBuf) => this.onClose(ws, opened, code, reasonBuf.toString()))
  }

  private onClose(ws: WebSocket, opened: boolean, code: number, closeReason: string): void {
    if (this.ws !== ws) return
    this.ws = undefined
    for (const p of this.pending.values()) {
      clearTimeout(p.ackTimer)
      p.ackTimer = undefined
    }
    // acknowledgements owed on this socket cannot be sent any more: the node re-forwards what it held
    this.delivery.clear()
    if (this.current === 'closed') return
    const reason = this.failure ?? describeClose(code, closeReason)
    if (opened) {
      this.emit('down', {reason, code})
      if (this.fail(reason)) this.wait(backoffMs(this.failures, LINK_BACKOFF))
      return
    }
    if (!this.fail(reason)) return
    const retryInMs = backoffMs(this.failures, LINK_BACKOFF)
    this.emit('dial_failed', {reason, attempt: this.failures, retryInMs})
    this.wait(retryInMs)
  }

  /** The link is usable: report it and send every pending message. */
  private ready(ws: WebSocket): void {
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN || this.current !== 'welcoming') return
    this.enter('up')
    this.emit('up', {url: this.url, id: this.id, name: this.remoteName})
    for (const p of this.pending.values()) if (p.stored) this.transmit(p)
  }

  private transmit(p: Pending): void {
    const ws = this.ws as WebSocket
    p.attempts++
    ws.send(encodeFrame({verb: 'message', text: p.text}))
    this.emit('sent', {text: p.text, attempt: p.attempts})
    clearTimeout(p.ackTimer)
    p.ackTimer = setTimeout(() => this.onAckTimeout(ws, p), this.opts.ackTimeoutMs)
  }

  private onAckTimeout(ws: WebSocket, p: Pending): void {
    p.ackTimer = undefined
    if (this.ws !== ws || this.current !== 'up' || !this.pending.has(p.text)) return
    // Close and redial: onClose counts the failure and reconnects, and the new
    // socket sends every pending message again.
    this.failure = `no ok within ${this.opts.ackTimeoutMs / 1000}s`
    void closeGracefully(ws, 4000, 'ack timeout')
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
        clearTimeout(p.ackTimer)
        this.pending.delete(frame.text)
        this.outbox.ack(frame.text, this.peerKey)
        this.failures = 0
        this.emit('acked', {text: frame.text, rttMs: Date.now() - p.firstSentMs})
        this.emitIfSettled()
        return
      }
      case 'message': {
        const text = frame.text
        // messages reach a client from anyone through the relay: a repeat is the same text
        this.delivery.receive(
          '',
          text,
          (repeat) => this.emit('received', {text, repeat}),
          () => {
            if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame({verb: 'ok', text}))
          },
        )
        return
      }
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

  private emitIfSettled(): void {
    if (this.pending.size === 0 && this.delivery.owed === 0) this.emit('settled')
  }
}

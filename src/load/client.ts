import {performance} from 'node:perf_hooks'
import WebSocket from 'ws'
import {backoffMs, LINK_BACKOFF} from '../protocol/backoff.js'
import {CLOSE_WAIT_MS} from '../protocol/defaults.js'
import {describeClose, describeError} from '../client/wire-errors.js'
import type {WorkerCounters} from './ipc.js'

const HANDSHAKE_TIMEOUT_MS = 10_000

export interface PoolOptions {
  url: string
  headers: Record<string, string>
  ca?: string
  insecure: boolean
  ackTimeoutMs: number
  drawAckDelayMs: () => number
  retries: number
}

/**
 * The clients of one worker process and their counters. Each client is a
 * {@link LoadClient}; the pool is what they report to.
 */
export class ClientPool {
  readonly counters: WorkerCounters = {started: 0, open: 0, peakOpen: 0, connects: 0, acked: 0, failed: 0, retries: 0, firstOpenMs: null, lastOpenMs: null}
  readonly latenciesMs: number[] = []
  readonly failures = new Map<string, number>()
  /** why clients had to reconnect, by reason */
  readonly retryReasons = new Map<string, number>()
  private finished = 0
  private readonly wsOptions: WebSocket.ClientOptions

  constructor(
    readonly opts: PoolOptions,
    private readonly total: number,
    private readonly onAllFinished: () => void,
  ) {
    this.wsOptions = {
      headers: opts.headers,
      ca: opts.ca,
      rejectUnauthorized: !opts.insecure,
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    }
  }

  /** Starts a client sending `x`, bound to `localAddress` when given. */
  start(x: string, localAddress: string | undefined): void {
    this.counters.started++
    new LoadClient(this, x, localAddress).connect()
  }

  /** @internal ws options for one client */
  socketOptions(localAddress: string | undefined): WebSocket.ClientOptions {
    return localAddress === undefined ? this.wsOptions : {...this.wsOptions, localAddress}
  }

  onOpen(): void {
    const c = this.counters
    c.open++
    c.connects++
    if (c.open > c.peakOpen) c.peakOpen = c.open
    const now = Date.now()
    c.firstOpenMs ??= now
    c.lastOpenMs = now
  }

  onClose(): void {
    this.counters.open--
  }

  onAcked(latencyMs: number): void {
    this.counters.acked++
    this.latenciesMs.push(Math.round(latencyMs * 10) / 10)
  }

  onRetry(reason: string): void {
    this.counters.retries++
    this.retryReasons.set(reason, (this.retryReasons.get(reason) ?? 0) + 1)
  }

  onFinished(failedReason?: string): void {
    if (failedReason !== undefined) {
      this.counters.failed++
      this.failures.set(failedReason, (this.failures.get(failedReason) ?? 0) + 1)
    }
    if (++this.finished === this.total) this.onAllFinished()
  }
}

/**
 * One load client on raw `ws`, with the protocol of the Link but a fraction of
 * its weight: send `message X`; answer every `message Y` with `ok Y` after a
 * drawn ack delay (at once for a repeat); close once `ok X` has arrived and no
 * `ok Y` is owed; on an ack timeout or a drop before `ok X`, reconnect with
 * backoff and send X again.
 */
class LoadClient {
  private ws: WebSocket | undefined
  private firstSentMs = 0
  private acked = false
  private failuresInARow = 0
  /** acknowledgements waiting out their delay */
  private owed: Set<NodeJS.Timeout> | undefined
  /** Y seen on any connection of this client: a resend is acknowledged again at once */
  private seen: Set<string> | undefined
  private ackTimer: NodeJS.Timeout | undefined
  private failure: string | undefined

  constructor(
    private readonly pool: ClientPool,
    private readonly x: string,
    private readonly localAddress: string | undefined,
  ) {}

  connect(): void {
    const ws = new WebSocket(this.pool.opts.url, this.pool.socketOptions(this.localAddress))
    this.ws = ws
    this.failure = undefined
    let opened = false
    ws.on('open', () => {
      opened = true
      this.pool.onOpen()
      if (this.firstSentMs === 0) this.firstSentMs = performance.now()
      ws.send(`message ${this.x}`)
      this.ackTimer = setTimeout(() => this.onAckTimeout(ws), this.pool.opts.ackTimeoutMs)
    })
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onFrame(ws, data.toString())
    })
    ws.on('error', (err) => {
      this.failure ??= describeError(err)
    })
    ws.on('close', (code, reason) => {
      if (opened) this.pool.onClose()
      clearTimeout(this.ackTimer)
      this.ackTimer = undefined
      // Acks still owed are not ours to deliver any more: the node re-forwards
      // what a closed connection held.
      if (this.owed) for (const t of this.owed) clearTimeout(t)
      this.owed = undefined
      this.ws = undefined
      if (this.acked) return this.pool.onFinished()
      const why = this.failure ?? describeClose(code, reason.toString())
      if (++this.failuresInARow > this.pool.opts.retries) return this.pool.onFinished(why)
      this.pool.onRetry(why)
      setTimeout(() => this.connect(), backoffMs(this.failuresInARow, LINK_BACKOFF))
    })
  }

  private onFrame(ws: WebSocket, data: string): void {
    if (data.startsWith('ok ')) {
      if (this.acked || data.length !== this.x.length + 3 || !data.endsWith(this.x)) return
      this.acked = true
      this.failuresInARow = 0
      clearTimeout(this.ackTimer)
      this.ackTimer = undefined
      this.pool.onAcked(performance.now() - this.firstSentMs)
      this.closeIfDone(ws)
    } else if (data.startsWith('message ')) {
      const y = data.slice(8)
      this.seen ??= new Set()
      const repeat = this.seen.has(y)
      this.seen.add(y)
      const delayMs = repeat ? 0 : this.pool.opts.drawAckDelayMs()
      if (delayMs <= 0) {
        ws.send(`ok ${y}`)
        return
      }
      const owed = (this.owed ??= new Set())
      const timer = setTimeout(() => {
        owed.delete(timer)
        if (ws.readyState !== WebSocket.OPEN) return
        ws.send(`ok ${y}`)
        this.closeIfDone(ws)
      }, delayMs)
      owed.add(timer)
    }
    // welcome, error, cmd: nothing a raw load client needs to answer
  }

  private closeIfDone(ws: WebSocket): void {
    if (!this.acked || (this.owed !== undefined && this.owed.size > 0) || ws.readyState !== WebSocket.OPEN) return
    ws.close(1000, 'done')
    this.killLater(ws)
  }

  private onAckTimeout(ws: WebSocket): void {
    this.ackTimer = undefined
    if (this.acked || this.ws !== ws) return
    this.failure = `no ok within ${this.pool.opts.ackTimeoutMs / 1000}s`
    ws.close(4000, 'ack timeout')
    this.killLater(ws)
  }

  /** A peer that never answers our close frame must not hold the client forever. */
  private killLater(ws: WebSocket): void {
    const kill = setTimeout(() => ws.terminate(), CLOSE_WAIT_MS)
    ws.once('close', () => clearTimeout(kill))
  }
}

import {performance} from 'node:perf_hooks'
import WebSocket from 'ws'
import {wsClientOptions, type DialOptions} from '../client/dial.js'
import {describeClose, describeError} from '../client/wire-errors.js'
import {backoffMs, type BackoffOptions} from '../protocol/backoff.js'
import {CLOSE_WAIT_MS} from '../protocol/defaults.js'
import {decodeFrame, encodeFrame} from '../protocol/frame.js'
import {ConnectGate} from './gate.js'
import {sourceAddressFor} from './plan.js'
import {LatencyHistogram} from './histogram.js'
import {emptyCounters, emptyTargetCounters, type Counters, type PartResult, type TargetCounters} from './ipc.js'
import type {GeneratorStats} from './sampler.js'

/**
 * The load clients' reconnect backoff: 250 ms doubling to 10 s, full jitter,
 * so that a crowd of clients that failed together spreads its retries over
 * the whole interval instead of coming back in waves.
 */
export const LOAD_BACKOFF: BackoffOptions = {minMs: 250, maxMs: 10_000, jitter: 'full'}

export interface PoolTarget {
  url: string
  /** source addresses to bind, in turn (empty: the OS picks) */
  sourceAddresses: readonly string[]
}

export interface PoolOptions {
  targets: PoolTarget[]
  dial: DialOptions
  ackTimeoutMs: number
  drawAckDelayMs: () => number
  retries: number
  maxHandshakes: number
  maxSockets: number
}

/**
 * The clients of one worker process, the gate they connect through and what
 * they report to: counters, the latency histogram, why clients retried or gave up.
 */
export class ClientPool {
  readonly counters: Counters = emptyCounters()
  readonly latencies = new LatencyHistogram()
  readonly failures = new Map<string, number>()
  readonly retryReasons = new Map<string, number>()
  readonly byTarget: TargetCounters[]
  readonly gate: ConnectGate
  private readonly live = new Set<LoadClient>()
  private readonly wsOptions: WebSocket.ClientOptions
  private finished = 0
  private expected = 0

  constructor(
    readonly opts: PoolOptions,
    private readonly onAllFinished: () => void,
  ) {
    this.wsOptions = wsClientOptions(opts.dial)
    this.byTarget = opts.targets.map(() => emptyTargetCounters())
    this.gate = new ConnectGate({targets: opts.targets.length, maxHandshakes: opts.maxHandshakes, maxSockets: opts.maxSockets})
  }

  /** How many clients this pool will start in all: it reports once all of them are finished. */
  expect(total: number): void {
    this.expected = total
    if (total === 0) this.onAllFinished()
  }

  /** Starts client `index` sending `x` to target `target`, through the gate. */
  start(x: string, index: number, target: number): void {
    this.counters.started++
    this.byTarget[target].clients++
    const t = this.opts.targets[target]
    const client = new LoadClient(this, x, target, sourceAddressFor(index, t.sourceAddresses))
    this.live.add(client)
    client.begin()
  }

  /** Every client still running gives up with `reason` (the run is over or interrupted). */
  giveUpAll(reason: string): void {
    for (const c of [...this.live]) c.giveUp(reason)
  }

  /** The clients that were never started count as failed with `reason` (an interrupted run). */
  failUnstarted(reason: string): void {
    const n = this.expected - this.counters.started
    if (n <= 0) return
    this.counters.failed += n
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + n)
    this.expected = this.counters.started
    if (this.finished === this.expected) this.onAllFinished()
  }

  /** The counters now, with what the gate counts (held retries, queued connects): what progress and the result report. */
  snapshot(): Counters {
    return {...this.counters, retriesHeld: this.gate.held, connectsQueued: this.gate.queued}
  }

  /** What this pool reports at the end (or so far). */
  result(generator: GeneratorStats): PartResult {
    const c = this.snapshot()
    const targets = this.byTarget.map((t, i) => ({...t, retriesHeld: this.gate.heldOf(i), throttled: this.gate.everThrottled(i)}))
    return {counters: c, latencies: this.latencies.encode(), failures: Object.fromEntries(this.failures), retryReasons: Object.fromEntries(this.retryReasons), targets, generator, workers: 1}
  }

  /** @internal ws options for one client */
  socketOptions(localAddress: string | undefined): WebSocket.ClientOptions {
    return localAddress === undefined ? this.wsOptions : {...this.wsOptions, localAddress}
  }

  /** @internal */
  urlOf(target: number): string {
    return this.opts.targets[target].url
  }

  /** @internal a fresh start got its slot after `waitedMs` */
  onGranted(waitedMs: number): void {
    if (waitedMs > this.counters.maxQueueWaitMs) this.counters.maxQueueWaitMs = Math.round(waitedMs)
  }

  /** @internal */
  onOpen(): void {
    const c = this.counters
    c.open++
    c.connects++
    if (c.open > c.peakOpen) c.peakOpen = c.open
    const now = Date.now()
    c.firstOpenMs ??= now
    c.lastOpenMs = now
  }

  /** @internal */
  onClose(): void {
    this.counters.open--
  }

  /** @internal */
  onAcked(target: number, latencyMs: number): void {
    this.counters.acked++
    this.byTarget[target].acked++
    this.latencies.record(latencyMs)
    this.gate.success(target)
  }

  /** @internal */
  onRetry(target: number, reason: string, first: boolean): void {
    this.counters.retries++
    if (first) this.counters.clientsRetried++
    this.byTarget[target].retries++
    this.retryReasons.set(reason, (this.retryReasons.get(reason) ?? 0) + 1)
  }

  /** @internal */
  onFinished(client: LoadClient, target: number, failedReason?: string): void {
    this.live.delete(client)
    if (failedReason !== undefined) {
      this.counters.failed++
      this.byTarget[target].failed++
      this.failures.set(failedReason, (this.failures.get(failedReason) ?? 0) + 1)
    }
    if (++this.finished === this.expected) this.onAllFinished()
  }
}

/**
 * One load client on raw `ws`, with the protocol of the OutboundLink but a fraction of
 * its weight: send `message X`; answer every `message Y` with `ok Y` after a
 * drawn ack delay (at once for a repeat); close once `ok X` has arrived and no
 * `ok Y` is owed; on an ack timeout or a drop before `ok X`, back off (full
 * jitter), wait for the gate and send X again.
 */
class LoadClient {
  private ws: WebSocket | undefined
  private firstSentMs = 0
  private acked = false
  private done = false
  private failuresInARow = 0
  private retried = false
  /** acknowledgements waiting out their delay */
  private owed: Set<NodeJS.Timeout> | undefined
  /** Y seen on any connection of this client: a resend is acknowledged again at once */
  private seen: Set<string> | undefined
  private ackTimer: NodeJS.Timeout | undefined
  private backoffTimer: NodeJS.Timeout | undefined
  private failure: string | undefined

  constructor(
    private readonly pool: ClientPool,
    private readonly x: string,
    private readonly target: number,
    private readonly localAddress: string | undefined,
  ) {}

  begin(): void {
    const askedMs = performance.now()
    this.pool.gate.request(this.target, false, () => {
      this.pool.onGranted(performance.now() - askedMs)
      this.connect()
    })
  }

  /** Ends this client now, counted as failed with `reason` unless it was acknowledged. */
  giveUp(reason: string): void {
    if (this.done) return
    clearTimeout(this.backoffTimer)
    this.finish(this.acked ? undefined : reason)
    // the close handler sees `done` and only does the socket bookkeeping
    this.ws?.terminate()
  }

  private finish(failedReason?: string): void {
    this.done = true
    this.pool.onFinished(this, this.target, failedReason)
  }

  private connect(): void {
    const gate = this.pool.gate
    if (this.done) {
      // gave up while waiting in line: hand the slot back without growing the stack
      queueMicrotask(() => gate.handshakeDone(this.target, false))
      return
    }
    const ws = new WebSocket(this.pool.urlOf(this.target), this.pool.socketOptions(this.localAddress))
    this.ws = ws
    this.failure = undefined
    let opened = false
    ws.on('open', () => {
      opened = true
      gate.handshakeDone(this.target, true)
      this.pool.onOpen()
      if (this.firstSentMs === 0) this.firstSentMs = performance.now()
      ws.send(encodeFrame({verb: 'message', text: this.x}))
      this.ackTimer = setTimeout(() => this.onAckTimeout(ws), this.pool.opts.ackTimeoutMs)
    })
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onFrame(ws, data.toString())
    })
    ws.on('error', (err) => {
      this.failure ??= describeError(err)
    })
    ws.on('close', (code, reason) => {
      if (opened) {
        this.pool.onClose()
        gate.socketClosed()
      } else gate.handshakeDone(this.target, false)
      clearTimeout(this.ackTimer)
      this.ackTimer = undefined
      // Acks still owed are not ours to deliver any more: the node re-forwards
      // what a closed connection held.
      if (this.owed) for (const t of this.owed) clearTimeout(t)
      this.owed = undefined
      this.ws = undefined
      if (this.done) return
      if (this.acked) return this.finish()
      const why = this.failure ?? describeClose(code, reason.toString())
      gate.failure(this.target)
      if (++this.failuresInARow > this.pool.opts.retries) return this.finish(why)
      this.pool.onRetry(this.target, why, !this.retried)
      this.retried = true
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined
        if (!this.done) gate.request(this.target, true, () => this.connect())
      }, backoffMs(this.failuresInARow, LOAD_BACKOFF))
    })
  }

  private onFrame(ws: WebSocket, data: string): void {
    const decoded = decodeFrame(data)
    if (!decoded.ok) return
    const frame = decoded.frame
    if (frame.verb === 'ok') {
      if (this.acked || frame.text !== this.x) return
      this.acked = true
      this.failuresInARow = 0
      clearTimeout(this.ackTimer)
      this.ackTimer = undefined
      this.pool.onAcked(this.target, performance.now() - this.firstSentMs)
      this.closeIfDone(ws)
    } else if (frame.verb === 'message') {
      const y = frame.text
      this.seen ??= new Set()
      const repeat = this.seen.has(y)
      this.seen.add(y)
      const delayMs = repeat ? 0 : this.pool.opts.drawAckDelayMs()
      if (delayMs <= 0) {
        ws.send(encodeFrame({verb: 'ok', text: y}))
        return
      }
      const owed = (this.owed ??= new Set())
      const timer = setTimeout(() => {
        owed.delete(timer)
        if (ws.readyState !== WebSocket.OPEN) return
        ws.send(encodeFrame({verb: 'ok', text: y}))
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

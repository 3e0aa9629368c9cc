import {fork, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import os from 'node:os'
import {fileURLToPath} from 'node:url'
import {authHeaders, type DialOptions} from '../client/dial.js'
import {callJson} from '../client/http.js'
import {httpBase} from '../client/urls.js'
import {PeerlinkError} from '../protocol/errors.js'
import type {FromWorker, WorkerCounters, WorkerJob} from './ipc.js'
import {clientsOfWorker, drawStartTimes, workerCount} from './plan.js'
import {summarizeLatencies, SummedGauge, type LatencySummary} from './stats.js'

/** After the last client closed, the node must reach zero state within this time. */
export const ZERO_STATE_WAIT_MS = 5000
const STATS_POLL_MS = 100
/** The workers get this long to load and say ready before the ramp starts. */
const START_LEAD_MS = 100

export interface LoadOptions {
  /** ws(s):// URL of the node's /ws endpoint */
  url: string
  dial: DialOptions
  clients: number
  rampMs: number
  ackDelay: {minMs: number; maxMs: number}
  ackTimeoutMs: number
  /** worker processes asked for; more are used when the clients need them */
  workers: number
  /** consecutive failures before a client gives up */
  retries: number
  onProgress?: (p: LoadProgress) => void
}

export interface LoadProgress {
  clients: number
  started: number
  open: number
  acked: number
  failed: number
  retries: number
}

/** The node's `/stats` answer. */
export interface TargetStats {
  name?: string
  connections: number
  pending: number
  [key: string]: unknown
}

export interface LoadReport {
  url: string
  clients: number
  workers: number
  ramp_ms: number
  ack_delay_ms: {min: number; max: number}
  ack_timeout_ms: number
  acked: number
  failed: number
  retries: number
  latency_ms: Omit<LatencySummary, 'count'>
  connect_rate_per_s: number | null
  peak_connections: number
  duration_s: number
  /** why clients gave up, by reason */
  failures: Record<string, number>
  /** why clients had to reconnect and resend, by reason */
  retry_reasons: Record<string, number>
  target_stats: TargetStats | null
  zero_state: boolean
  /** every client acknowledged and the node back in zero state */
  ok: boolean
  /** what kept `ok` false, one line each */
  problems: string[]
}

interface WorkerState {
  proc: ChildProcess
  clients: number
  last: WorkerCounters | undefined
  result: Extract<FromWorker, {type: 'result'}> | undefined
}

/**
 * Runs the load test: checks the node answers `/stats`, forks the workers,
 * starts every client at its drawn time in the ramp, gathers the results and
 * waits (at most {@link ZERO_STATE_WAIT_MS}) for the node's zero state.
 * A node that cannot be reached before the start is a PeerlinkError; anything
 * that goes wrong later ends up in the report's `problems`.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const statsUrl = `${httpBase(opts.url)}/stats`
  try {
    await callJson<TargetStats>(statsUrl, opts.dial)
  } catch (err) {
    if (err instanceof PeerlinkError) throw new PeerlinkError(err.code, `cannot start the load test: ${err.message}`)
    throw err
  }

  const n = workerCount(opts.clients, opts.workers)
  const starts = drawStartTimes(opts.clients, opts.rampMs)
  const prefix = `load-${randomBytes(4).toString('hex')}`
  const workerPath = fileURLToPath(new URL('./worker.js', import.meta.url))
  const gauge = new SummedGauge()
  const workers: WorkerState[] = []

  const progress = () => {
    const p: LoadProgress = {clients: opts.clients, started: 0, open: gauge.current, acked: 0, failed: 0, retries: 0}
    for (const w of workers) {
      const c = w.result?.counters ?? w.last
      if (!c) continue
      p.started += c.started
      p.acked += c.acked
      p.failed += c.failed
      p.retries += c.retries
    }
    opts.onProgress?.(p)
  }

  const handles = Array.from({length: n}, (_, w) => {
    const indices = clientsOfWorker(opts.clients, n, w)
    const job: WorkerJob = {
      url: opts.url,
      headers: authHeaders(opts.dial.token),
      ca: opts.dial.ca?.toString(),
      insecure: opts.dial.insecure ?? false,
      ackTimeoutMs: opts.ackTimeoutMs,
      ackDelay: opts.ackDelay,
      retries: opts.retries,
      prefix,
      indices,
      startsMs: indices.map((i) => starts[i]),
    }
    const proc = fork(workerPath, [], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
    const state: WorkerState = {proc, clients: indices.length, last: undefined, result: undefined}
    workers.push(state)
    const ready = new Promise<void>((resolve) => {
      proc.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') resolve()
        else if (msg.type === 'progress') {
          state.last = msg.counters
          gauge.set(w, msg.counters.open)
        } else if (msg.type === 'result') {
          state.result = msg
          gauge.set(w, msg.counters.open)
        }
      })
    })
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()))
    proc.send({type: 'job', job})
    return {ready: Promise.race([ready, exited]), exited}
  })
  await Promise.all(handles.map((h) => h.ready))
  const t0Ms = Date.now() + START_LEAD_MS
  for (const w of workers) if (w.proc.connected) w.proc.send({type: 'start', t0Ms})
  const ticker = setInterval(progress, 200)
  const onSignal = () => {
    for (const w of workers) w.proc.kill()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    await Promise.all(handles.map((h) => h.exited))
  } finally {
    clearInterval(ticker)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  progress()
  const endMs = Date.now()

  // Aggregate. A worker that died without a result loses its unacknowledged clients.
  const latencies: number[] = []
  const failures: Record<string, number> = {}
  const retryReasons: Record<string, number> = {}
  let acked = 0
  let failed = 0
  let retries = 0
  let firstOpen = Infinity
  let lastOpen = -Infinity
  let connects = 0
  for (const w of workers) {
    const c = w.result?.counters ?? w.last
    if (w.result) {
      for (const l of w.result.latenciesMs) latencies.push(l)
      for (const [reason, count] of Object.entries(w.result.failures)) failures[reason] = (failures[reason] ?? 0) + count
      for (const [reason, count] of Object.entries(w.result.retryReasons)) retryReasons[reason] = (retryReasons[reason] ?? 0) + count
    }
    const wAcked = c?.acked ?? 0
    const wFailed = w.result ? w.result.counters.failed : w.clients - wAcked
    if (!w.result) failures['worker process died'] = (failures['worker process died'] ?? 0) + wFailed
    acked += wAcked
    failed += wFailed
    retries += c?.retries ?? 0
    connects += c?.connects ?? 0
    if (c?.firstOpenMs != null) firstOpen = Math.min(firstOpen, c.firstOpenMs)
    if (c?.lastOpenMs != null) lastOpen = Math.max(lastOpen, c.lastOpenMs)
  }
  const {count: _count, ...latency} = summarizeLatencies(latencies)
  const spanS = (lastOpen - firstOpen) / 1000
  const connectRate = connects === 0 ? null : spanS > 0 ? Math.round(connects / spanS) : connects

  const {stats, error: statsError} = await awaitZeroState(statsUrl, opts.dial)
  const zero = stats !== null && stats.connections === 0 && stats.pending === 0

  const problems: string[] = []
  if (failed > 0) {
    const top = Object.entries(failures).sort((a, b) => b[1] - a[1])[0]
    problems.push(`${failed} of ${opts.clients} clients not acknowledged${top ? ` (most often: ${top[0]}, ${top[1]}×)` : ''}`)
  }
  if (stats === null) problems.push(`cannot read the node's /stats afterwards: ${statsError}`)
  else if (!zero) problems.push(`the node is not back in zero state ${ZERO_STATE_WAIT_MS / 1000}s after the last close: connections=${stats.connections} pending=${stats.pending}`)

  return {
    url: opts.url,
    clients: opts.clients,
    workers: n,
    ramp_ms: opts.rampMs,
    ack_delay_ms: {min: opts.ackDelay.minMs, max: opts.ackDelay.maxMs},
    ack_timeout_ms: opts.ackTimeoutMs,
    acked,
    failed,
    retries,
    latency_ms: latency,
    connect_rate_per_s: connectRate,
    peak_connections: gauge.peak,
    duration_s: Math.round((endMs - t0Ms) / 100) / 10,
    failures,
    retry_reasons: retryReasons,
    target_stats: stats,
    zero_state: zero,
    ok: failed === 0 && acked === opts.clients && zero,
    problems,
  }
}

/** Polls `/stats` until connections and pending are both 0, at most {@link ZERO_STATE_WAIT_MS}; returns the last answer. */
async function awaitZeroState(statsUrl: string, dial: DialOptions): Promise<{stats: TargetStats | null; error?: string}> {
  const deadline = Date.now() + ZERO_STATE_WAIT_MS
  let stats: TargetStats | null = null
  let error: string | undefined
  for (;;) {
    try {
      stats = await callJson<TargetStats>(statsUrl, dial)
      error = undefined
      if (stats.connections === 0 && stats.pending === 0) return {stats}
    } catch (err) {
      error = err instanceof Error ? err.message : String(err)
    }
    if (Date.now() >= deadline) return error === undefined ? {stats} : {stats: null, error}
    await new Promise((resolve) => setTimeout(resolve, STATS_POLL_MS))
  }
}

/** Default worker count: one per core. */
export function defaultWorkers(): number {
  return os.availableParallelism()
}

/**
 * What a share of a load run is told and what it reports back: between the
 * runner and its worker processes (fork IPC, JSON) and, the same shapes,
 * between the runner and its agents (NATS, see agent-protocol.ts).
 */
import type {EncodedLatencies} from './histogram.js'
import type {Share} from './plan.js'
import type {GeneratorStats} from './sampler.js'

/** A run's parameters, the same for every participant. */
export interface RunSpec {
  /** ws(s):// URLs; a client goes to exactly one */
  targets: string[]
  rampMs: number
  ackDelay: {minMs: number; maxMs: number}
  ackTimeoutMs: number
  /** consecutive failures (dial errors, drops, ack timeouts) before a client gives up */
  retries: number
  /** clients not done this long after the ramp give up */
  finishTimeoutMs: number
  /** prefix of every X, unique per run: X = `${prefix}-${index}` */
  prefix: string
}

/** How a worker reaches the targets (what DialOptions holds, as JSON). */
export interface WorkerDial {
  token?: string
  ca?: string
  insecure: boolean
}

export interface WorkerJob {
  spec: RunSpec
  dial: WorkerDial
  /** the clients of this worker */
  share: Share
  /** source addresses to bind, in turn; null: 127.0.0.1..100 towards loopback targets, the OS's choice otherwise */
  sourceAddresses: string[] | null
}

export interface Counters {
  started: number
  open: number
  peakOpen: number
  connects: number
  acked: number
  failed: number
  retries: number
  /** clients that had to retry at least once */
  clientsRetried: number
  /** retries that waited because their target was saturated */
  retriesHeld: number
  /** connects that waited for a handshake or socket slot of their worker */
  connectsQueued: number
  /** the longest such wait: how far the generator fell behind its ramp */
  maxQueueWaitMs: number
  /** epoch ms (of the participant's clock) of the first and last successful connect */
  firstOpenMs: number | null
  lastOpenMs: number | null
}

export function emptyCounters(): Counters {
  return {started: 0, open: 0, peakOpen: 0, connects: 0, acked: 0, failed: 0, retries: 0, clientsRetried: 0, retriesHeld: 0, connectsQueued: 0, maxQueueWaitMs: 0, firstOpenMs: null, lastOpenMs: null}
}

/** Per target (same order as the run's targets). */
export interface TargetCounters {
  clients: number
  acked: number
  failed: number
  retries: number
  retriesHeld: number
  /** retries to it ever waited for its budget */
  throttled: boolean
}

export function emptyTargetCounters(): TargetCounters {
  return {clients: 0, acked: 0, failed: 0, retries: 0, retriesHeld: 0, throttled: false}
}

/** What a participant (a worker, or an agent for all its workers) reports at the end. */
export interface PartResult {
  counters: Counters
  latencies: EncodedLatencies
  /** why clients gave up, by reason */
  failures: Record<string, number>
  /** why clients had to reconnect, by reason */
  retryReasons: Record<string, number>
  targets: TargetCounters[]
  generator: GeneratorStats
  /** worker processes behind this result */
  workers: number
}

/** A progress report: counters and the generator's state, every {@link PROGRESS_INTERVAL_MS}. */
export interface Progress {
  counters: Counters
  generator: GeneratorStats
}

export const PROGRESS_INTERVAL_MS = 250

export type ToWorker = {type: 'job'; job: WorkerJob} | {type: 'start'; t0Ms: number} | {type: 'stop'}

export type FromWorker = {type: 'ready'} | ({type: 'progress'} & Progress) | {type: 'result'; result: PartResult}

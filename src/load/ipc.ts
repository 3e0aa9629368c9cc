/** Messages between the load runner and its worker processes (over the fork IPC channel, JSON). */

export interface WorkerJob {
  url: string
  headers: Record<string, string>
  ca?: string
  insecure: boolean
  ackTimeoutMs: number
  ackDelay: {minMs: number; maxMs: number}
  /** consecutive failures (dial errors, drops, ack timeouts) before a client gives up */
  retries: number
  /** prefix of every X, unique per run: X = `${prefix}-${index}` */
  prefix: string
  /** client indices of this worker and their start offsets from t0 (same order) */
  indices: number[]
  startsMs: number[]
}

export interface WorkerCounters {
  started: number
  open: number
  peakOpen: number
  connects: number
  acked: number
  failed: number
  retries: number
  /** epoch ms of the first and last successful connect */
  firstOpenMs: number | null
  lastOpenMs: number | null
}

export type ToWorker = {type: 'job'; job: WorkerJob} | {type: 'start'; t0Ms: number}

export type FromWorker =
  | {type: 'ready'}
  | {type: 'progress'; counters: WorkerCounters}
  | {type: 'result'; counters: WorkerCounters; latenciesMs: number[]; failures: Record<string, number>; retryReasons: Record<string, number>}

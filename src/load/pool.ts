/**
 * The worker processes of one participant (the local runner, or an agent):
 * forks them, hands each its share, starts them all at one instant and
 * collects their progress and results. A worker that dies without a result
 * is reported as lost; the pool never hangs on it.
 */
import {fork, type ChildProcess} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {fileURLToPath} from 'node:url'
import type {DialOptions} from '../client/dial.js'
import {openFileLimit} from '../client/process-limits.js'
import type {PartOutcome} from './aggregate.js'
import type {FromWorker, PartResult, Progress, RunSpec, ToWorker, WorkerDial} from './ipc.js'
import {plannedConcurrency, planWorkers, socketsPerWorker, splitShare, type Share, type WorkerPlan} from './plan.js'

export interface PoolJob {
  spec: RunSpec
  dial: WorkerDial
  /** the clients of this participant, split over its workers */
  share: Share
  workers: number
  sourceAddresses: string[] | null
}

/** How one worker ended: its result, or why there is none. */
export type WorkerOutcome = {clients: number; result: PartResult; lost?: undefined; last?: Progress} | {clients: number; result?: undefined; lost: string; last?: Progress}

export interface WorkerPoolEvents {
  progress: [worker: number, progress: Progress]
}

/**
 * Worker processes for `clients` of a run on this machine (the runner's
 * share, or an agent's): at least `requested`, more when what they may hold
 * at once (`concurrency`, also returned) needs them under this process's
 * open-file limit (see planWorkers).
 */
export function planLocalWorkers(clients: number, spec: Pick<RunSpec, 'rampMs' | 'ackDelay' | 'ackTimeoutMs'>, requested: number): WorkerPlan & {concurrency: number} {
  const concurrency = plannedConcurrency({clients, rampMs: spec.rampMs, ackDelay: spec.ackDelay, ackTimeoutMs: spec.ackTimeoutMs})
  return {...planWorkers(clients, concurrency, requested, socketsPerWorker(openFileLimit())), concurrency}
}

/** How a worker process dials, from the participant's dial options (what crosses IPC as JSON: the CA as text). */
export function workerDial(dial: DialOptions): WorkerDial {
  return {token: dial.token, ca: dial.ca?.toString(), insecure: dial.insecure ?? false}
}

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url))

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  private readonly procs: ChildProcess[] = []
  private readonly shares: Share[]
  private readonly lastProgress: Array<Progress | undefined>
  private readonly outcomes: Array<Promise<WorkerOutcome>>
  private readonly ready: Array<Promise<void>>

  constructor(job: PoolJob) {
    super()
    this.shares = splitShare(job.share, job.workers)
    this.lastProgress = this.shares.map(() => undefined)
    this.ready = []
    this.outcomes = this.shares.map((share, w) => {
      const proc = fork(WORKER_PATH, [], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
      this.procs.push(proc)
      let result: PartResult | undefined
      let onReady: () => void = () => {}
      this.ready.push(new Promise<void>((resolve) => (onReady = resolve)))
      proc.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') onReady()
        else if (msg.type === 'progress') {
          const {type: _type, ...progress} = msg
          this.lastProgress[w] = progress
          this.emit('progress', w, progress)
        } else if (msg.type === 'result') result = msg.result
      })
      const exited = new Promise<WorkerOutcome>((resolve) => {
        proc.on('exit', (code, signal) => {
          onReady()
          const last = this.lastProgress[w]
          if (result) resolve({clients: share.count, result, last})
          else resolve({clients: share.count, lost: `worker process died (${signal ?? `exit ${code}`})`, last})
        })
      })
      proc.on('error', () => {}) // a failed send to a dead worker: its exit says the rest
      this.send(w, {type: 'job', job: {spec: job.spec, dial: job.dial, share, sourceAddresses: job.sourceAddresses}})
      return exited
    })
  }

  get size(): number {
    return this.procs.length
  }

  /** Resolves once every worker has its job and waits for the start (or died). */
  async whenReady(): Promise<void> {
    await Promise.all(this.ready)
  }

  /** Starts every worker's ramp at `t0Ms` (epoch ms of this machine). */
  start(t0Ms: number): void {
    for (let w = 0; w < this.procs.length; w++) this.send(w, {type: 'start', t0Ms})
  }

  /** Asks every worker to give up its clients now and report (Ctrl-C). */
  stop(): void {
    for (let w = 0; w < this.procs.length; w++) this.send(w, {type: 'stop'})
  }

  /** Kills every worker still running. */
  kill(): void {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  }

  /** Every worker's outcome, once all have exited. */
  outcomesAll(): Promise<WorkerOutcome[]> {
    return Promise.all(this.outcomes)
  }

  /** Every worker's outcome as a part of the run, named `${prefix}worker N`, once all have exited. */
  async partOutcomes(prefix = ''): Promise<PartOutcome[]> {
    const outcomes = await this.outcomesAll()
    return outcomes.map((o, w) => ({name: `${prefix}worker ${w + 1}`, clients: o.clients, result: o.result, lost: o.lost, last: o.last}))
  }

  /** The latest progress of each worker (undefined before its first report). */
  progress(): ReadonlyArray<Progress | undefined> {
    return this.lastProgress
  }

  private send(w: number, msg: ToWorker): void {
    const p = this.procs[w]
    if (p.connected) p.send(msg)
  }
}

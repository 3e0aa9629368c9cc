/**
 * A load-test worker process (forked by the runner): runs its share of the
 * clients and reports counters every {@link PROGRESS_INTERVAL_MS}, then the
 * result. Exits when the runner goes away.
 */
import {ClientPool} from './client.js'
import type {FromWorker, ToWorker, WorkerJob} from './ipc.js'
import {ackDelayDrawer, sourceAddressFor} from './plan.js'

export const PROGRESS_INTERVAL_MS = 200

function post(msg: FromWorker, then?: () => void): void {
  process.send?.(msg, undefined, {}, () => then?.())
}

let job: WorkerJob | undefined

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'job') {
    job = msg.job
    post({type: 'ready'})
  } else if (msg.type === 'start' && job) {
    run(job, msg.t0Ms)
  }
})
// the runner died or gave up on us: nothing left to report to
process.on('disconnect', () => process.exit(0))

function run(job: WorkerJob, t0Ms: number): void {
  const targetHost = new URL(job.url).hostname
  const order = job.indices.map((_, i) => i).sort((a, b) => job.startsMs[a] - job.startsMs[b])
  const progress = setInterval(() => post({type: 'progress', counters: pool.counters}), PROGRESS_INTERVAL_MS)
  const pool = new ClientPool(
    {
      url: job.url,
      headers: job.headers,
      ca: job.ca,
      insecure: job.insecure,
      ackTimeoutMs: job.ackTimeoutMs,
      drawAckDelayMs: ackDelayDrawer(job.ackDelay),
      retries: job.retries,
    },
    job.indices.length,
    () => {
      clearInterval(progress)
      post({type: 'result', counters: pool.counters, latenciesMs: pool.latenciesMs, failures: Object.fromEntries(pool.failures), retryReasons: Object.fromEntries(pool.retryReasons)}, () => process.exit(0))
    },
  )
  if (job.indices.length === 0) {
    clearInterval(progress)
    post({type: 'result', counters: pool.counters, latenciesMs: [], failures: {}, retryReasons: {}}, () => process.exit(0))
    return
  }
  // One timer walks the sorted start times instead of one timer per client.
  let next = 0
  const tick = () => {
    const now = Date.now()
    while (next < order.length && t0Ms + job.startsMs[order[next]] <= now) {
      const index = job.indices[order[next++]]
      pool.start(`${job.prefix}-${index}`, sourceAddressFor(index, targetHost))
    }
    if (next < order.length) setTimeout(tick, Math.max(1, t0Ms + job.startsMs[order[next]] - Date.now()))
  }
  tick()
}

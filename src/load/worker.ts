/**
 * A load-test worker process (forked by a {@link WorkerPool}): runs its share
 * of the clients, samples itself, reports progress every
 * {@link PROGRESS_INTERVAL_MS}, then the result. Exits when its parent goes away.
 */
import {ClientPool, type PoolTarget} from './client.js'
import {PROGRESS_INTERVAL_MS, type FromWorker, type ToWorker, type WorkerJob} from './ipc.js'
import {openFileLimit} from '../client/process-limits.js'
import {ackDelayDrawer, defaultSourceAddresses, drawStartTimes, HANDSHAKES_PER_WORKER_MAX, indexAt, socketsPerWorker, targetOf} from './plan.js'
import {GeneratorSampler} from './sampler.js'

function post(msg: FromWorker, then?: () => void): void {
  process.send?.(msg, undefined, {}, () => then?.())
}

let job: WorkerJob | undefined
let running: {stop: () => void} | undefined

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'job') {
    job = msg.job
    post({type: 'ready'})
  } else if (msg.type === 'start' && job && !running) {
    running = run(job, msg.t0Ms)
  } else if (msg.type === 'stop') {
    if (running) running.stop()
    else process.exit(0)
  }
})
// the parent died or gave up on us: nothing left to report to
process.on('disconnect', () => process.exit(0))

function run(job: WorkerJob, t0Ms: number): {stop: () => void} {
  const {spec, share} = job
  const targets: PoolTarget[] = spec.targets.map((url) => ({url, sourceAddresses: job.sourceAddresses ?? defaultSourceAddresses(new URL(url).hostname)}))
  const sampler = new GeneratorSampler()
  let reported = false
  const timers: NodeJS.Timeout[] = []
  const pool = new ClientPool(
    {
      targets,
      dial: {token: job.dial.token, ca: job.dial.ca, insecure: job.dial.insecure},
      ackTimeoutMs: spec.ackTimeoutMs,
      drawAckDelayMs: ackDelayDrawer(spec.ackDelay),
      retries: spec.retries,
      maxHandshakes: HANDSHAKES_PER_WORKER_MAX,
      maxSockets: socketsPerWorker(openFileLimit()),
    },
    () => {
      if (reported) return
      reported = true
      for (const t of timers) clearTimeout(t)
      sampler.stop()
      post({type: 'result', result: pool.result(sampler.sample())}, () => process.exit(0))
    },
  )
  timers.push(setInterval(() => post({type: 'progress', counters: pool.snapshot(), generator: sampler.sample()}), PROGRESS_INTERVAL_MS))
  // clients not done by then give up, so that a run past the target's limit still ends
  const deadlineMs = t0Ms + spec.rampMs + spec.finishTimeoutMs
  timers.push(setTimeout(() => pool.giveUpAll(`not acknowledged within ${spec.finishTimeoutMs / 1000}s after the ramp (--finish-timeout)`), Math.max(0, deadlineMs - Date.now())))
  pool.expect(share.count)

  // Each worker draws its own start times: a union of uniform draws is uniform.
  const starts = drawStartTimes(share.count, spec.rampMs)
  const order = Array.from({length: share.count}, (_, k) => k).sort((a, b) => starts[a] - starts[b])
  // One timer walks the sorted start times instead of one timer per client.
  let next = 0
  let tickTimer: NodeJS.Timeout | undefined
  const tick = () => {
    const now = Date.now()
    while (next < order.length && t0Ms + starts[order[next]] <= now) {
      const k = order[next++]
      const index = indexAt(share, k)
      pool.start(`${spec.prefix}-${index}`, index, targetOf(share, k, targets.length))
    }
    if (next < order.length) tickTimer = setTimeout(tick, Math.max(1, t0Ms + starts[order[next]] - Date.now()))
  }
  tickTimer = setTimeout(() => {
    sampler.restart()
    tick()
  }, Math.max(0, t0Ms - Date.now()))
  timers.push(tickTimer)
  return {
    stop: () => {
      clearTimeout(tickTimer)
      pool.failUnstarted('interrupted before it started')
      pool.giveUpAll('interrupted')
    },
  }
}

/**
 * The load-agent: waits on the cluster's NATS for a runner, runs the share of
 * clients it is given with its own workers, token and source addresses, and
 * reports progress (its heartbeat) and one merged result. One run at a time.
 */
import os from 'node:os'
import {randomBytes} from 'node:crypto'
import type {Msg, NatsConnection} from '@nats-io/transport-node'
import type {DialOptions} from '../client/dial.js'
import {AGENT_PROGRESS_MS, AGENT_PROTOCOL_VERSION, AGENT_REQUEST_TIMEOUT_MS, checkPrepare, decodeMessage, encodeMessage, loadSubjects, type Discover, type Here, type Prepare, type Ready, type Refused, type ToAgent} from './agent-protocol.js'
import {aggregate, asPartResult, sumProgress} from './aggregate.js'
import {connectNats} from './nats.js'
import {planLocalWorkers, WorkerPool, workerDial} from './pool.js'
import {checkReachable} from './targets.js'

/** A prepared run that is not started within this time is dropped. */
const START_WAIT_MS = 30_000
/** The result is offered this many times (AGENT_REQUEST_TIMEOUT_MS each) before the agent gives up on its runner. */
const RESULT_ATTEMPTS = 5

export interface AgentOptions {
  /** nats:// URL(s), comma-separated */
  nats: string
  clusterName: string
  /** how the agent calls itself in reports */
  name: string
  /** how it reaches the targets: its own token, CA, --insecure */
  dial: DialOptions
  /** worker processes it uses at least (more when a share's concurrency needs them) */
  workers: number
  sourceAddresses: string[] | null
  onEvent?: (e: AgentEvent) => void
}

export type AgentEvent =
  | {event: 'agent_ready'; name: string; agent: string; cluster: string; nats: string}
  | {event: 'run_prepared'; run: string; clients: number; workers: number; targets: string[]; workers_reason: string | null}
  | {event: 'run_refused'; run: string; reason: string}
  | {event: 'run_started'; run: string}
  | {event: 'run_finished'; run: string; acked: number; failed: number; delivered: boolean}
  | {event: 'run_dropped'; run: string; reason: string}

export interface Agent {
  readonly id: string
  /** stops serving, ends a run in progress, leaves NATS */
  close(): Promise<void>
  /** resolves when the NATS connection is closed for good */
  closed: Promise<void>
}

interface Current {
  runId: string
  targets: number
  pool: WorkerPool
  started: boolean
  timer?: NodeJS.Timeout
}

/** Connects to NATS and serves runs until {@link Agent.close}. */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const nc = await connectNats(opts.nats, `peerlink load-agent ${opts.name}`)
  const id = randomBytes(6).toString('hex')
  const subjects = loadSubjects(opts.clusterName)
  const emit = (e: AgentEvent) => opts.onEvent?.(e)
  let current: Current | undefined

  const reply = (m: Msg, body: object) => {
    if (m.reply) m.respond(encodeMessage(body))
  }

  nc.subscribe(subjects.discover, {
    callback: (err, m) => {
      if (err) return
      const ask = decodeMessage<Discover>(m.data, 'discover')
      if (!ask) return
      const here: Here = {type: 'here', v: AGENT_PROTOCOL_VERSION, agent: id, name: opts.name, host: os.hostname(), cores: os.availableParallelism(), busy: current !== undefined}
      reply(m, here)
    },
  })

  nc.subscribe(subjects.agent(id), {
    callback: (err, m) => {
      if (err) return
      const msg = decodeMessage<ToAgent>(m.data, 'prepare', 'clock', 'start', 'stop')
      if (!msg) return
      if (msg.type === 'prepare') {
        // e.g. no processes left to fork: refuse the run, never crash the agent
        prepare(m, msg).catch((e: Error) => {
          dropRun(`cannot prepare: ${e.message}`)
          reply(m, {type: 'refused', agent: id, reason: `agent ${opts.name} cannot prepare the run: ${e.message}`} satisfies Refused)
        })
        return
      }
      if (msg.type === 'clock') return reply(m, {type: 'clock', nowMs: Date.now()})
      if (!current || current.runId !== msg.runId) return reply(m, {type: 'refused', agent: id, reason: `no run ${msg.runId} here`} satisfies Refused)
      if (msg.type === 'start' && !current.started) {
        current.started = true
        clearTimeout(current.timer)
        current.pool.start(msg.t0Ms)
        reply(m, {type: 'ack'})
        emit({event: 'run_started', run: msg.runId})
        return
      }
      if (msg.type === 'stop') {
        reply(m, {type: 'ack'})
        if (current.started) current.pool.stop()
        else dropRun('stopped by the runner before the start')
      }
    },
  })

  const dropRun = (reason: string) => {
    if (!current) return
    clearTimeout(current.timer)
    current.pool.kill()
    emit({event: 'run_dropped', run: current.runId, reason})
    current = undefined
  }

  const prepare = async (m: Msg, p: Prepare) => {
    if (current) return reply(m, {type: 'refused', agent: id, reason: `busy with run ${current.runId}`} satisfies Refused)
    const bad = checkPrepare(p)
    if (bad) return reply(m, {type: 'refused', agent: id, reason: `agent ${opts.name} refuses the run: ${bad}`} satisfies Refused)
    try {
      await checkReachable(p.spec.targets, opts.dial, 'cannot reach ')
    } catch (err) {
      const reason = `agent ${opts.name} ${(err as Error).message}`
      emit({event: 'run_refused', run: p.runId, reason})
      return reply(m, {type: 'refused', agent: id, reason} satisfies Refused)
    }
    // another runner may have come first while we checked the targets
    const other = current as Current | undefined
    if (other) return reply(m, {type: 'refused', agent: id, reason: `busy with run ${other.runId}`} satisfies Refused)
    const plan = planLocalWorkers(p.share.count, p.spec, opts.workers)
    const pool = new WorkerPool({
      spec: p.spec,
      dial: workerDial(opts.dial),
      share: p.share,
      workers: plan.workers,
      sourceAddresses: opts.sourceAddresses,
    })
    const run: Current = {runId: p.runId, targets: p.spec.targets.length, pool, started: false}
    current = run
    run.timer = setTimeout(() => current === run && dropRun(`not started within ${START_WAIT_MS / 1000}s`), START_WAIT_MS)
    await pool.whenReady()
    if (current !== run) return
    emit({event: 'run_prepared', run: p.runId, clients: p.share.count, workers: plan.workers, targets: p.spec.targets, workers_reason: plan.reason})
    reply(m, {type: 'ready', agent: id, workers: plan.workers, workersReason: plan.reason} satisfies Ready)
    void finish(run)
  }

  const finish = async (run: Current) => {
    const ticker = setInterval(() => {
      if (!run.started) return
      nc.publish(subjects.progress(run.runId), encodeMessage({type: 'progress', runId: run.runId, agent: id, progress: sumProgress(run.pool.progress())}))
    }, AGENT_PROGRESS_MS)
    const outcomes = await run.pool.partOutcomes(`${opts.name} `)
    clearInterval(ticker)
    if (current !== run) return
    const totals = aggregate(outcomes, run.targets)
    const body = encodeMessage({type: 'result', runId: run.runId, agent: id, result: asPartResult(totals)})
    let delivered = false
    for (let attempt = 0; attempt < RESULT_ATTEMPTS && !delivered && !nc.isClosed(); attempt++) {
      try {
        await nc.request(subjects.result(run.runId), body, {timeout: AGENT_REQUEST_TIMEOUT_MS})
        delivered = true
      } catch {
        // the runner is gone or busy: offer it again
      }
    }
    current = undefined
    emit({event: 'run_finished', run: run.runId, acked: totals.acked, failed: totals.failed, delivered})
  }

  emit({event: 'agent_ready', name: opts.name, agent: id, cluster: opts.clusterName, nats: opts.nats})
  const closed = nc.closed().then(() => undefined)
  return {
    id,
    closed,
    close: async () => {
      if (current) {
        if (current.started) current.pool.stop()
        else dropRun('the agent is stopping')
      }
      await nc.drain().catch(() => undefined)
    },
  }
}

/**
 * `peerlink load`: composes one run from its pieces — the targets' `/stats`
 * (targets.ts), the plan (plan.ts), the local worker pool (pool.ts), the
 * agents on NATS (agents.ts), the merge (aggregate.ts) and the verdict
 * (verdict.ts) — and turns them into the report.
 */
import {randomBytes} from 'node:crypto'
import os from 'node:os'
import type {NatsConnection} from '@nats-io/transport-node'
import type {DialOptions} from '../client/dial.js'
import {PeerlinkError} from '../protocol/errors.js'
import type {Here} from './agent-protocol.js'
import {AgentCrew, discoverAgents, type AgentMember} from './agents.js'
import {aggregate, sumProgress, type PartOutcome} from './aggregate.js'
import type {RunSpec} from './ipc.js'
import {connectNats} from './nats.js'
import {splitShare, wholeRun} from './plan.js'
import {planLocalWorkers, WorkerPool, workerDial} from './pool.js'
import {SummedGauge} from './stats.js'
import {awaitZeroStateAll, checkReachable, ZERO_STATE_WAIT_MS} from './targets.js'
import {GENERATOR_SATURATED_NOTE, verdict} from './verdict.js'
import {buildReport, type LoadReport} from './report.js'

export {ZERO_STATE_WAIT_MS} from './targets.js'
export type {TargetStats} from './targets.js'
export type {LoadReport} from './report.js'

/** The workers get this long to load and say ready before the ramp starts. */
const START_LEAD_MS = 100
/** With agents, the start message must reach them all before the instant it names. */
const START_LEAD_AGENTS_MS = 500
const PROGRESS_TICK_MS = 200
/** Clients still unacknowledged this long after the ramp give up (default of --finish-timeout). */
export const FINISH_TIMEOUT_MS_DEFAULT = 90_000

export interface LoadOptions {
  /** ws(s):// URLs of the nodes' /ws endpoints; each client goes to one of them */
  urls: string[]
  dial: DialOptions
  clients: number
  rampMs: number
  ackDelay: {minMs: number; maxMs: number}
  ackTimeoutMs: number
  /** worker processes asked for; more are used when the concurrency needs them */
  workers: number
  /** consecutive failures before a client gives up */
  retries: number
  finishTimeoutMs?: number
  /** source addresses for this machine's clients; null: 127.0.0.1..100 towards loopback targets */
  sourceAddresses?: string[] | null
  /** load-agents on this NATS take part */
  cluster?: {nats: string; name: string; agents?: number}
  /** false: only the agents run clients (needs `cluster`) */
  local?: boolean
  onProgress?: (p: LoadProgress) => void
  /** a one-line note for the user before the ramp (more workers than asked, agents found) */
  onNote?: (line: string) => void
}

export interface LoadProgress {
  clients: number
  started: number
  open: number
  acked: number
  failed: number
  retries: number
  /** some worker is saturated right now */
  generatorSaturated: boolean
  /** what to show about it, or null */
  note: string | null
}

/** Default worker count: one per core. */
export function defaultWorkers(): number {
  return os.availableParallelism()
}

/**
 * Runs the load test: checks every target answers `/stats`, finds the agents
 * (with `cluster`), splits the clients, starts every participant at one
 * instant, gathers and merges the results and waits (at most
 * {@link ZERO_STATE_WAIT_MS}) for every target's zero state. A target or NATS
 * that cannot be reached before the start is a PeerlinkError; anything that
 * goes wrong later ends up in the report's `problems`.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const local = opts.local ?? true
  if (!local && !opts.cluster) throw new PeerlinkError('BAD_FLAG', '--no-local needs --cluster: someone has to run the clients')
  await checkReachable(opts.urls, opts.dial)
  const runId = randomBytes(4).toString('hex')
  const spec: RunSpec = {
    targets: opts.urls,
    rampMs: opts.rampMs,
    ackDelay: opts.ackDelay,
    ackTimeoutMs: opts.ackTimeoutMs,
    retries: opts.retries,
    finishTimeoutMs: opts.finishTimeoutMs ?? FINISH_TIMEOUT_MS_DEFAULT,
    prefix: `load-${runId}`,
  }
  const notes: string[] = []
  const note = (line: string) => {
    notes.push(line)
    opts.onNote?.(line)
  }

  let nc: NatsConnection | undefined
  let crew: AgentCrew | undefined
  let pool: WorkerPool | undefined
  const gauge = new SummedGauge()
  const agentSource = (m: AgentMember) => 1_000_000 + (crew?.members.indexOf(m) ?? 0)
  try {
    // who takes part
    let agents: Here[] = []
    if (opts.cluster) {
      nc = await connectNats(opts.cluster.nats, 'peerlink load')
      agents = await findAgents(nc, opts.cluster, runId, local, note)
    }
    const participants = agents.length + (local ? 1 : 0)
    const shares = splitShare(wholeRun(opts.clients), participants)
    const localShare = local ? shares[0] : {offset: 0, stride: 1, count: 0}
    const agentShares = local ? shares.slice(1) : shares

    // this machine's workers, sized by what they hold at once
    const sized = planLocalWorkers(localShare.count, spec, opts.workers)
    const plan = local && localShare.count > 0 ? {workers: sized.workers, reason: sized.reason} : {workers: 0, reason: null}
    if (plan.reason) note(plan.reason)
    const onAgentProgress = (m: AgentMember) => {
      if (m.last) gauge.set(agentSource(m), m.last.counters.open)
    }
    if (nc && agents.length > 0) crew = await AgentCrew.prepare(nc, opts.cluster!.name, runId, spec, agents.map((here, i) => ({here, share: agentShares[i]})), onAgentProgress)
    if (plan.workers > 0) {
      pool = new WorkerPool({spec, dial: workerDial(opts.dial), share: localShare, workers: plan.workers, sourceAddresses: opts.sourceAddresses ?? null})
      pool.on('progress', (w, p) => gauge.set(w, p.counters.open))
      await pool.whenReady()
    }

    // one instant for everyone
    const t0Ms = Date.now() + (crew ? START_LEAD_AGENTS_MS : START_LEAD_MS)
    pool?.start(t0Ms)
    await crew?.start(t0Ms)

    const progress = () => {
      const all = sumProgress([...(pool?.progress() ?? []), ...(crew?.members.map((m) => m.last) ?? [])])
      const c = all.counters
      const sat = all.generator.saturatedNow
      opts.onProgress?.({clients: opts.clients, started: c.started, open: gauge.current, acked: c.acked, failed: c.failed, retries: c.retries, generatorSaturated: sat, note: sat ? GENERATOR_SATURATED_NOTE : null})
    }
    const ticker = setInterval(progress, PROGRESS_TICK_MS)
    const signals = onInterrupt(
      () => {
        pool?.stop()
        void crew?.stop()
      },
      () => pool?.kill(),
    )
    let parts: PartOutcome[]
    try {
      const [localOutcomes, agentOutcomes] = await Promise.all([pool?.partOutcomes() ?? [], crew?.outcomes() ?? []])
      parts = [...localOutcomes, ...agentOutcomes]
    } finally {
      clearInterval(ticker)
      signals.dispose()
    }
    progress()
    const endMs = Date.now()

    const totals = aggregate(parts, opts.urls.length)
    const after = await awaitZeroStateAll(opts.urls, opts.dial)
    const v = verdict(totals, opts.clients, after, ZERO_STATE_WAIT_MS)
    return buildReport({
      opts: {...opts, finishTimeoutMs: spec.finishTimeoutMs},
      plan,
      concurrency: sized.concurrency,
      localClients: localShare.count,
      agents: crew?.members ?? [],
      totals,
      after,
      verdict: v,
      interrupted: signals.interrupted(),
      notes,
      peakConnections: gauge.peak,
      durationMs: endMs - t0Ms,
    })
  } finally {
    pool?.kill()
    crew?.close()
    await nc?.drain().catch(() => undefined)
  }
}

/** The agents that take part: every idle one, or exactly `cluster.agents`; too few is a PeerlinkError before anything starts. */
async function findAgents(nc: NatsConnection, cluster: NonNullable<LoadOptions['cluster']>, runId: string, local: boolean, note: (line: string) => void): Promise<Here[]> {
  const {chosen, busy} = await discoverAgents(nc, cluster.name, runId, cluster.agents)
  const where = `on ${cluster.nats} (cluster ${cluster.name})`
  const busyNote = busy ? ` (${busy} busy)` : ''
  if (cluster.agents !== undefined && chosen.length < cluster.agents) {
    throw new PeerlinkError('GAVE_UP', `cannot start the load test: asked for ${cluster.agents} agent${cluster.agents === 1 ? '' : 's'} ${where}, ${chosen.length} idle answered${busyNote}`)
  }
  if (chosen.length === 0 && !local) throw new PeerlinkError('GAVE_UP', `cannot start the load test: no idle load-agent answered ${where}${busyNote}`)
  note(chosen.length === 0 ? `no load-agent answered ${where}: running on this machine only` : `${chosen.length} agent${chosen.length === 1 ? '' : 's'} ${where}: ${chosen.map((a) => a.name).join(', ')}`)
  return chosen
}

/** Ctrl-C (or SIGTERM) once: `stop` (every participant reports what it has); twice: `kill`. */
function onInterrupt(stop: () => void, kill: () => void): {interrupted: () => boolean; dispose: () => void} {
  let interrupted = false
  const onSignal = () => {
    if (interrupted) return kill()
    interrupted = true
    stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    interrupted: () => interrupted,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

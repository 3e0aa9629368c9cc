/**
 * The runner's side of the agent conversation (docs/load.md): find the idle
 * agents, give each its share, agree on one start instant across their
 * clocks, follow their heartbeats and collect their results. An agent that
 * falls silent mid-run is declared gone, so the run never waits for it.
 */
import {createInbox, type NatsConnection, type Subscription} from '@nats-io/transport-node'
import {PeerlinkError} from '../protocol/errors.js'
import {
  AGENT_DISCOVER_MAX_MS,
  AGENT_DISCOVER_MS,
  AGENT_PREPARE_TIMEOUT_MS,
  AGENT_PROTOCOL_VERSION,
  AGENT_REQUEST_TIMEOUT_MS,
  AGENT_SILENCE_MS,
  chooseAgents,
  clockOffsetMs,
  decodeMessage,
  encodeMessage,
  loadSubjects,
  type ClockAnswer,
  type ClockSample,
  type Here,
  type ProgressReport,
  type Ready,
  type Refused,
  type ResultReport,
} from './agent-protocol.js'
import type {PartOutcome} from './aggregate.js'
import {LatencyHistogram} from './histogram.js'
import type {PartResult, Progress, RunSpec} from './ipc.js'
import type {Share} from './plan.js'

const CLOCK_PROBES = 3
const WATCH_MS = 250

export interface AgentMember {
  here: Here
  share: Share
  workers: number
  workersReason: string | null
  /** the agent's clock minus ours */
  offsetMs: number
  last?: Progress
  lastHeardMs: number
  outcome?: PartOutcome
}

/** True when a result from the network has the shape the merge needs (its histogram decodes, its counters are numbers). */
function readable(r: PartResult | undefined): r is PartResult {
  try {
    if (!r || typeof r.counters?.acked !== 'number' || typeof r.counters.failed !== 'number' || !Array.isArray(r.targets) || typeof r.generator?.cpuMs !== 'number') return false
    LatencyHistogram.decode(r.latencies)
    return true
  } catch {
    return false
  }
}

/** Asks who is there: every idle agent within {@link AGENT_DISCOVER_MS}, or the first `wanted` (waiting up to {@link AGENT_DISCOVER_MAX_MS}). */
export async function discoverAgents(nc: NatsConnection, clusterName: string, runId: string, wanted: number | undefined): Promise<{chosen: Here[]; busy: number}> {
  const inbox = createInbox()
  const answers: Here[] = []
  const sub = nc.subscribe(inbox)
  const waitMs = wanted === undefined ? AGENT_DISCOVER_MS : AGENT_DISCOVER_MAX_MS
  const timer = setTimeout(() => sub.unsubscribe(), waitMs)
  nc.publish(loadSubjects(clusterName).discover, encodeMessage({type: 'discover', v: AGENT_PROTOCOL_VERSION, runId}), {reply: inbox})
  for await (const m of sub) {
    const here = decodeMessage<Here>(m.data, 'here')
    if (!here) continue
    answers.push(here)
    if (wanted !== undefined && chooseAgents(answers, wanted).length >= wanted) break
  }
  clearTimeout(timer)
  sub.unsubscribe()
  const chosen = chooseAgents(answers, wanted)
  return {chosen, busy: answers.filter((a) => a.busy).length}
}

async function ask<T extends {type: string}>(nc: NatsConnection, subject: string, body: object, timeoutMs: number, ...types: string[]): Promise<T> {
  const m = await nc.request(subject, encodeMessage(body), {timeout: timeoutMs})
  const answer = decodeMessage<T | Refused>(m.data, ...types, 'refused')
  if (!answer) throw new Error('an answer that is not part of the load conversation')
  if (answer.type === 'refused') throw new Error((answer as Refused).reason)
  return answer as T
}

/**
 * The agents of one run, from prepare to their results. Create with
 * {@link AgentCrew.prepare}; then {@link start}, then await {@link outcomes}.
 */
export class AgentCrew {
  private progressSub: Subscription | undefined
  private resultSub: Subscription | undefined
  private watch: NodeJS.Timeout | undefined
  private settle: (() => void) | undefined
  private readonly done: Promise<void>

  private constructor(
    private readonly nc: NatsConnection,
    private readonly clusterName: string,
    private readonly runId: string,
    readonly members: AgentMember[],
    private readonly onProgress: (m: AgentMember) => void,
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve))
  }

  /**
   * Gives every agent its share and waits until each has its workers ready;
   * measures each one's clock. An agent that refuses or does not answer is a
   * PeerlinkError naming it (the others are told to stop).
   */
  static async prepare(nc: NatsConnection, clusterName: string, runId: string, spec: RunSpec, agents: Array<{here: Here; share: Share}>, onProgress: (m: AgentMember) => void): Promise<AgentCrew> {
    const subjects = loadSubjects(clusterName)
    const members: AgentMember[] = []
    const crew = new AgentCrew(nc, clusterName, runId, members, onProgress)
    crew.listen()
    const results = await Promise.allSettled(
      agents.map(async ({here, share}) => {
        let ready: Ready
        try {
          ready = await ask<Ready>(nc, subjects.agent(here.agent), {type: 'prepare', runId, spec, share}, AGENT_PREPARE_TIMEOUT_MS, 'ready')
        } catch (err) {
          throw new Error(`agent ${here.name} did not get ready: ${(err as Error).message}`)
        }
        const samples: ClockSample[] = []
        for (let i = 0; i < CLOCK_PROBES; i++) {
          const sentMs = Date.now()
          const answer = await ask<ClockAnswer>(nc, subjects.agent(here.agent), {type: 'clock', runId}, AGENT_REQUEST_TIMEOUT_MS, 'clock')
          samples.push({sentMs, receivedMs: Date.now(), remoteMs: answer.nowMs})
        }
        members.push({here, share, workers: ready.workers, workersReason: ready.workersReason, offsetMs: clockOffsetMs(samples), lastHeardMs: Date.now()})
      }),
    )
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) {
      await crew.stop()
      crew.close()
      throw new PeerlinkError('GAVE_UP', `cannot start the load test: ${(failed.reason as Error).message}`)
    }
    return crew
  }

  /** Starts every agent at `t0Ms` on our clock (each is told the instant on its own clock). */
  async start(t0Ms: number): Promise<void> {
    const subjects = loadSubjects(this.clusterName)
    const now = Date.now()
    for (const m of this.members) m.lastHeardMs = now
    await Promise.all(
      this.members.map((m) =>
        ask(this.nc, subjects.agent(m.here.agent), {type: 'start', runId: this.runId, t0Ms: t0Ms + m.offsetMs}, AGENT_REQUEST_TIMEOUT_MS, 'ack').catch(() => {
          // its silence will be noticed by the watch
        }),
      ),
    )
    this.watch = setInterval(() => this.check(), WATCH_MS)
    this.check()
  }

  /** Asks every agent to give up its clients now and report (Ctrl-C). */
  async stop(): Promise<void> {
    const subjects = loadSubjects(this.clusterName)
    await Promise.all(this.members.map((m) => ask(this.nc, subjects.agent(m.here.agent), {type: 'stop', runId: this.runId}, AGENT_REQUEST_TIMEOUT_MS, 'ack').catch(() => undefined)))
  }

  /** Every agent's outcome: its result, or that it disappeared. */
  async outcomes(): Promise<PartOutcome[]> {
    await this.done
    return this.members.map((m) => m.outcome as PartOutcome)
  }

  close(): void {
    clearInterval(this.watch)
    this.progressSub?.unsubscribe()
    this.resultSub?.unsubscribe()
  }

  private listen(): void {
    const subjects = loadSubjects(this.clusterName)
    const byId = (agent: string) => this.members.find((m) => m.here.agent === agent)
    this.progressSub = this.nc.subscribe(subjects.progress(this.runId), {
      callback: (err, msg) => {
        const p = err ? undefined : decodeMessage<ProgressReport>(msg.data, 'progress')
        const m = p && byId(p.agent)
        if (!p || !m || m.outcome) return
        m.last = p.progress
        m.lastHeardMs = Date.now()
        this.onProgress(m)
      },
    })
    this.resultSub = this.nc.subscribe(subjects.result(this.runId), {
      callback: (err, msg) => {
        const r = err ? undefined : decodeMessage<ResultReport>(msg.data, 'result')
        if (!r) return
        if (msg.reply) msg.respond(encodeMessage({type: 'ack'}))
        const m = byId(r.agent)
        if (!m || m.outcome) return
        if (!readable(r.result)) {
          m.outcome = {name: `agent ${m.here.name}`, clients: m.share.count, lost: 'sent a result that cannot be read', last: m.last, clockOffsetMs: m.offsetMs}
          return this.check()
        }
        m.last = {counters: r.result.counters, generator: r.result.generator}
        m.outcome = {name: `agent ${m.here.name}`, clients: m.share.count, result: r.result, last: m.last, clockOffsetMs: m.offsetMs}
        this.onProgress(m)
        this.check()
      },
    })
  }

  private check(): void {
    if (!this.watch) return
    const now = Date.now()
    for (const m of this.members) {
      if (m.outcome || now - m.lastHeardMs <= AGENT_SILENCE_MS) continue
      m.outcome = {name: `agent ${m.here.name}`, clients: m.share.count, lost: `disappeared mid-run: no word for ${AGENT_SILENCE_MS / 1000}s`, last: m.last, clockOffsetMs: m.offsetMs}
    }
    if (this.members.every((m) => m.outcome)) {
      clearInterval(this.watch)
      this.settle?.()
    }
  }
}

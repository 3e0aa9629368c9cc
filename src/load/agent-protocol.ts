/**
 * How a load runner and its load-agents talk over NATS (docs/load.md has the
 * whole conversation). Subjects live under `peerlink.load.<cluster-name>.`,
 * a prefix the cluster's own subjects never use. Every message is one JSON
 * object with a `type`. Pure: subjects, message shapes, checks, clock maths.
 */
import type {PartResult, Progress, RunSpec} from './ipc.js'
import type {Share} from './plan.js'

/** Version of this conversation; an agent answers only runners of its own version. */
export const AGENT_PROTOCOL_VERSION = 1
/** An agent reports progress (its heartbeat) this often during a run. */
export const AGENT_PROGRESS_MS = 500
/** An agent not heard from for this long during a run has disappeared. */
export const AGENT_SILENCE_MS = 3000
/** Without --agents, the runner takes every idle agent that answers within this time. */
export const AGENT_DISCOVER_MS = 1000
/** With --agents N, the runner waits at most this long for N idle agents. */
export const AGENT_DISCOVER_MAX_MS = 5000
/** An agent must have its workers forked and waiting within this time. */
export const AGENT_PREPARE_TIMEOUT_MS = 15_000
/** Every request of the conversation other than prepare is answered within this time. */
export const AGENT_REQUEST_TIMEOUT_MS = 2000

/** The subjects of the load conversation of cluster `clusterName` (checked at the edge: one subject token). */
export function loadSubjects(clusterName: string) {
  const base = `peerlink.load.${clusterName}`
  return {
    /** runner → every agent: who is there? (reply subject: the runner's inbox) */
    discover: `${base}.discover`,
    /** runner → one agent: prepare, clock, start, stop (request/reply) */
    agent: (agentId: string) => `${base}.agent.${agentId}`,
    /** agent → runner: progress during run `runId` (also the agent's heartbeat) */
    progress: (runId: string) => `${base}.run.${runId}.progress`,
    /** agent → runner: the agent's result of run `runId` (request; the runner acknowledges) */
    result: (runId: string) => `${base}.run.${runId}.result`,
  }
}

export interface Discover {
  type: 'discover'
  v: number
  runId: string
}

export interface Here {
  type: 'here'
  v: number
  agent: string
  name: string
  host: string
  cores: number
  /** in another run now */
  busy: boolean
}

export interface Prepare {
  type: 'prepare'
  runId: string
  spec: RunSpec
  share: Share
}

export interface Ready {
  type: 'ready'
  agent: string
  workers: number
  workersReason: string | null
}

export interface Refused {
  type: 'refused'
  agent: string
  reason: string
}

export interface ClockAsk {
  type: 'clock'
  runId: string
}

export interface ClockAnswer {
  type: 'clock'
  /** the agent's Date.now() when it answered */
  nowMs: number
}

export interface Start {
  type: 'start'
  runId: string
  /** the agreed instant, on the agent's own clock */
  t0Ms: number
}

export interface Stop {
  type: 'stop'
  runId: string
}

export interface Ack {
  type: 'ack'
}

export interface ProgressReport {
  type: 'progress'
  runId: string
  agent: string
  progress: Progress
}

export interface ResultReport {
  type: 'result'
  runId: string
  agent: string
  result: PartResult
}

export type ToAgent = Prepare | ClockAsk | Start | Stop

/** Bounds an agent accepts in a prepare: a run it can hold, not one that exhausts it. */
const PREPARE_LIMITS = {targets: 100, clients: 10_000_000, durationMs: 24 * 3600_000, retries: 1000}

const isCount = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max

/**
 * Checks a prepare that came over NATS before an agent acts on it; returns
 * why it is refused, or null. Anyone who can publish on the NATS can send one,
 * so nothing in it is trusted.
 */
export function checkPrepare(p: Prepare): string | null {
  const s = p.spec as Partial<RunSpec> | undefined
  const share = p.share as Partial<Share> | undefined
  if (typeof p.runId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(p.runId)) return 'bad run id'
  if (!s || !Array.isArray(s.targets) || s.targets.length === 0 || s.targets.length > PREPARE_LIMITS.targets) return 'bad targets'
  for (const t of s.targets) {
    try {
      if (typeof t !== 'string' || !['ws:', 'wss:'].includes(new URL(t).protocol)) return `bad target ${JSON.stringify(t)}`
    } catch {
      return `bad target ${JSON.stringify(t)}`
    }
  }
  if (!isCount(s.rampMs, PREPARE_LIMITS.durationMs) || !isCount(s.ackTimeoutMs, PREPARE_LIMITS.durationMs) || !isCount(s.finishTimeoutMs, PREPARE_LIMITS.durationMs)) return 'bad durations'
  if (!s.ackDelay || !isCount(s.ackDelay.minMs, PREPARE_LIMITS.durationMs) || !isCount(s.ackDelay.maxMs, PREPARE_LIMITS.durationMs)) return 'bad ack delay'
  if (!isCount(s.retries, PREPARE_LIMITS.retries)) return 'bad retries'
  if (typeof s.prefix !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(s.prefix)) return 'bad prefix'
  if (!share || !isCount(share.offset, PREPARE_LIMITS.clients) || !isCount(share.count, PREPARE_LIMITS.clients) || !isCount(share.stride, PREPARE_LIMITS.clients) || share.stride < 1) return 'bad share'
  return null
}

/** Encodes a message of the conversation. */
export function encodeMessage(m: object): string {
  return JSON.stringify(m)
}

/** Decodes a message whose `type` is one of `types`; undefined for anything else (never throws). */
export function decodeMessage<T extends {type: string}>(data: Uint8Array | string, ...types: string[]): T | undefined {
  try {
    const v: unknown = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'))
    if (v !== null && typeof v === 'object' && types.includes((v as {type: string}).type)) return v as T
  } catch {
    // not ours
  }
  return undefined
}

/** One clock probe: when the runner asked and heard back (its clock), and what the agent's clock said in between. */
export interface ClockSample {
  sentMs: number
  receivedMs: number
  remoteMs: number
}

/**
 * The agent's clock minus the runner's, from the probe with the shortest round
 * trip (its error is at most half that round trip), as NTP estimates an offset.
 */
export function clockOffsetMs(samples: readonly ClockSample[]): number {
  if (samples.length === 0) throw new Error('clockOffsetMs needs at least one sample')
  const best = [...samples].sort((a, b) => a.receivedMs - a.sentMs - (b.receivedMs - b.sentMs))[0]
  return Math.round(best.remoteMs - (best.sentMs + best.receivedMs) / 2)
}

/**
 * The agents a runner takes from those that answered: idle ones of this
 * protocol version, the first `wanted` of them (all when undefined).
 */
export function chooseAgents(answers: readonly Here[], wanted: number | undefined): Here[] {
  const seen = new Set<string>()
  // an answer came over the network: its id becomes a subject token, its name is shown
  const wellFormed = (a: Here) => typeof a.agent === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(a.agent) && typeof a.name === 'string' && typeof a.host === 'string'
  const idle = answers.filter((a) => a.v === AGENT_PROTOCOL_VERSION && wellFormed(a) && !a.busy && !seen.has(a.agent) && seen.add(a.agent))
  return wanted === undefined ? idle : idle.slice(0, wanted)
}

/**
 * Merging what the participants of a run reported (worker processes, agents)
 * into one set of totals, pure: counters summed, histograms added, reasons
 * merged; a participant that vanished without a result loses the clients it
 * had not had acknowledged yet.
 */
import {LatencyHistogram, type LatencySummary} from './histogram.js'
import {emptyCounters, emptyTargetCounters, type Counters, type PartResult, type Progress, type TargetCounters} from './ipc.js'
import {emptyGeneratorStats, type GeneratorStats} from './sampler.js'

/** One participant's end: its result, or why there is none and what it said last. */
export interface PartOutcome {
  /** e.g. `worker 2`, `agent lab-3` */
  name: string
  /** clients it was given */
  clients: number
  result?: PartResult
  /** why there is no result (died, disappeared) */
  lost?: string
  last?: Progress
  /** the participant's clock minus the runner's (agents), to place its open times on the runner's clock */
  clockOffsetMs?: number
}

export interface Totals {
  clients: number
  acked: number
  failed: number
  counters: Counters
  latency: LatencySummary
  /** the merged histogram, for whoever merges further (an agent reporting to its runner) */
  histogram: LatencyHistogram
  connectRatePerS: number | null
  failures: Record<string, number>
  retryReasons: Record<string, number>
  targets: TargetCounters[]
  generator: GeneratorStats & {workers: number}
  /** participants without a result */
  lost: Array<{name: string; reason: string; clients: number; acked: number}>
}

function addInto(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
}

/** The counters that add up across participants; the rest are a maximum and two instants. */
const SUMMED = ['started', 'open', 'peakOpen', 'connects', 'acked', 'failed', 'retries', 'clientsRetried', 'retriesHeld', 'connectsQueued'] as const

/** Adds one participant's counters into `into`; its open times are moved onto the runner's clock by `offsetMs`. */
function addCounters(into: Counters, from: Counters, offsetMs = 0): void {
  for (const k of SUMMED) into[k] += from[k]
  into.maxQueueWaitMs = Math.max(into.maxQueueWaitMs, from.maxQueueWaitMs ?? 0)
  if (from.firstOpenMs !== null) into.firstOpenMs = Math.min(into.firstOpenMs ?? Infinity, from.firstOpenMs - offsetMs)
  if (from.lastOpenMs !== null) into.lastOpenMs = Math.max(into.lastOpenMs ?? -Infinity, from.lastOpenMs - offsetMs)
}

function addGenerator(into: GeneratorStats, from: GeneratorStats): void {
  into.cpuMs += from.cpuMs
  into.saturatedMs += from.saturatedMs
  into.maxEventLoopDelayMs = Math.max(into.maxEventLoopDelayMs, from.maxEventLoopDelayMs)
  into.saturatedNow ||= from.saturatedNow
}

/** Merges the outcomes of every participant of a run of `targets` targets. */
export function aggregate(parts: readonly PartOutcome[], targets: number): Totals {
  const histogram = new LatencyHistogram()
  const c = emptyCounters()
  const failures: Record<string, number> = {}
  const retryReasons: Record<string, number> = {}
  const byTarget = Array.from({length: targets}, () => emptyTargetCounters())
  const generator = {...emptyGeneratorStats(), workers: 0}
  const lost: Totals['lost'] = []
  let clients = 0
  for (const part of parts) {
    clients += part.clients
    const pc = part.result?.counters ?? part.last?.counters
    const offset = part.clockOffsetMs ?? 0
    if (part.result) {
      const r = part.result
      histogram.add(LatencyHistogram.decode(r.latencies))
      addInto(failures, r.failures)
      addInto(retryReasons, r.retryReasons)
      r.targets.forEach((t, i) => {
        const into = byTarget[i]
        if (!into) return
        into.clients += t.clients
        into.acked += t.acked
        into.failed += t.failed
        into.retries += t.retries
        into.retriesHeld += t.retriesHeld
        into.throttled ||= t.throttled
      })
      generator.workers += r.workers
    } else {
      // what it had acknowledged by its last word stands; the rest is lost with it
      const acked = pc?.acked ?? 0
      const n = part.clients - acked
      lost.push({name: part.name, reason: part.lost ?? 'no result', clients: part.clients, acked})
      if (n > 0) failures[part.lost ?? 'no result'] = (failures[part.lost ?? 'no result'] ?? 0) + n
      // every client it had not had acknowledged counts as failed, those it reported failed among them (added with its counters below)
      c.failed += n - (pc?.failed ?? 0)
    }
    const g = part.result?.generator ?? part.last?.generator
    if (g) addGenerator(generator, g)
    if (pc) addCounters(c, pc, offset)
  }
  const spanS = c.firstOpenMs === null || c.lastOpenMs === null ? 0 : (c.lastOpenMs - c.firstOpenMs) / 1000
  const connectRatePerS = c.connects === 0 ? null : spanS > 0 ? Math.round(c.connects / spanS) : c.connects
  return {clients, acked: c.acked, failed: c.failed, counters: c, latency: histogram.summary(), histogram, connectRatePerS, failures, retryReasons, targets: byTarget, generator, lost}
}

/**
 * The totals as one participant's result again (an agent merges its workers
 * and reports them to the runner as one part).
 */
export function asPartResult(t: Totals): PartResult {
  const {workers, ...generator} = t.generator
  return {counters: t.counters, latencies: t.histogram.encode(), failures: t.failures, retryReasons: t.retryReasons, targets: t.targets, generator, workers}
}

/** Progress of several participants summed (for the progress line and an agent's heartbeat). */
export function sumProgress(ps: ReadonlyArray<Progress | undefined>): Progress {
  const counters = emptyCounters()
  const generator = emptyGeneratorStats()
  for (const p of ps) {
    if (!p) continue
    addCounters(counters, p.counters)
    addGenerator(generator, p.generator)
  }
  return {counters, generator}
}

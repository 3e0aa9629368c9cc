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
  let firstOpen = Infinity
  let lastOpen = -Infinity
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
      c.failed += r.counters.failed
    } else {
      // what it had acknowledged by its last word stands; the rest is lost with it
      const acked = pc?.acked ?? 0
      const n = part.clients - acked
      lost.push({name: part.name, reason: part.lost ?? 'no result', clients: part.clients, acked})
      if (n > 0) failures[part.lost ?? 'no result'] = (failures[part.lost ?? 'no result'] ?? 0) + n
      c.failed += n
    }
    const g = part.result?.generator ?? part.last?.generator
    if (g) {
      generator.cpuMs += g.cpuMs
      generator.saturatedMs += g.saturatedMs
      generator.maxEventLoopDelayMs = Math.max(generator.maxEventLoopDelayMs, g.maxEventLoopDelayMs)
      generator.saturatedNow ||= g.saturatedNow
    }
    if (!pc) continue
    c.started += pc.started
    c.peakOpen += pc.peakOpen
    c.connects += pc.connects
    c.acked += pc.acked
    c.retries += pc.retries
    c.clientsRetried += pc.clientsRetried
    c.retriesHeld += pc.retriesHeld
    c.connectsQueued += pc.connectsQueued
    c.maxQueueWaitMs = Math.max(c.maxQueueWaitMs, pc.maxQueueWaitMs ?? 0)
    if (pc.firstOpenMs !== null) firstOpen = Math.min(firstOpen, pc.firstOpenMs - offset)
    if (pc.lastOpenMs !== null) lastOpen = Math.max(lastOpen, pc.lastOpenMs - offset)
  }
  c.firstOpenMs = Number.isFinite(firstOpen) ? firstOpen : null
  c.lastOpenMs = Number.isFinite(lastOpen) ? lastOpen : null
  const spanS = (lastOpen - firstOpen) / 1000
  const connectRatePerS = c.connects === 0 ? null : spanS > 0 ? Math.round(c.connects / spanS) : c.connects
  return {clients, acked: c.acked, failed: c.failed, counters: c, latency: histogram.summary(), histogram, connectRatePerS, failures, retryReasons, targets: byTarget, generator, lost}
}

/**
 * The totals as one participant's result again (an agent merges its workers
 * and reports them to the runner as one part).
 */
export function asPartResult(t: Totals): PartResult {
  return {
    counters: t.counters,
    latencies: t.histogram.encode(),
    failures: t.failures,
    retryReasons: t.retryReasons,
    targets: t.targets,
    generator: {cpuMs: t.generator.cpuMs, maxEventLoopDelayMs: t.generator.maxEventLoopDelayMs, saturatedMs: t.generator.saturatedMs, saturatedNow: t.generator.saturatedNow},
    workers: t.generator.workers,
  }
}

/** Progress of several participants summed (for the progress line and an agent's heartbeat). */
export function sumProgress(ps: ReadonlyArray<Progress | undefined>): Progress {
  const counters = emptyCounters()
  const generator = emptyGeneratorStats()
  for (const p of ps) {
    if (!p) continue
    for (const k of ['started', 'open', 'peakOpen', 'connects', 'acked', 'failed', 'retries', 'clientsRetried', 'retriesHeld', 'connectsQueued'] as const) counters[k] += p.counters[k]
    counters.maxQueueWaitMs = Math.max(counters.maxQueueWaitMs, p.counters.maxQueueWaitMs ?? 0)
    if (p.counters.firstOpenMs !== null) counters.firstOpenMs = Math.min(counters.firstOpenMs ?? Infinity, p.counters.firstOpenMs)
    if (p.counters.lastOpenMs !== null) counters.lastOpenMs = Math.max(counters.lastOpenMs ?? -Infinity, p.counters.lastOpenMs)
    generator.cpuMs += p.generator.cpuMs
    generator.saturatedMs += p.generator.saturatedMs
    generator.maxEventLoopDelayMs = Math.max(generator.maxEventLoopDelayMs, p.generator.maxEventLoopDelayMs)
    generator.saturatedNow ||= p.generator.saturatedNow
  }
  return {counters, generator}
}

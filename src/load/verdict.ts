/**
 * The verdict of a load run, pure: passed or not, what kept it from passing
 * (one line each), and which side was saturated, so that a user never blames
 * the server for the tool or the tool for the server.
 */
import type {Totals} from './aggregate.js'

/** A generator saturated for less than this in all (a GC pause, a busy start) is not worth a warning. */
export const GENERATOR_SATURATED_MIN_MS = 1000
/** Connects that waited less than this for a slot did not visibly delay the ramp. */
export const GENERATOR_BEHIND_MIN_MS = 1000
export const GENERATOR_SATURATED_NOTE = 'generator saturated: latencies include its own delay'

/** What became of one target after the run. */
export interface TargetCheck {
  url: string
  /** its `/stats` after the run; null when it could not be read */
  stats: {connections: number; pending: number} | null
  /** why /stats could not be read */
  error?: string
  zeroState: boolean
}

export interface Verdict {
  ok: boolean
  problems: string[]
  /** the saturated sides: `generator` and/or the URL of each target whose retries had to be held */
  saturated: string[]
  /** said even when the run passed */
  notes: string[]
}

/** Judges a run of `clients` from its totals and the targets' state afterwards. */
export function verdict(t: Totals, clients: number, checks: readonly TargetCheck[], zeroStateWaitMs: number): Verdict {
  const problems: string[] = []
  const notes: string[] = []
  const saturated: string[] = []
  const generatorSaturated = t.generator.saturatedMs >= GENERATOR_SATURATED_MIN_MS
  if (generatorSaturated) {
    saturated.push('generator')
    notes.push(`${GENERATOR_SATURATED_NOTE} (${(t.generator.saturatedMs / 1000).toFixed(1)} worker-seconds, worst event-loop delay ${t.generator.maxEventLoopDelayMs} ms)`)
  }
  t.targets.forEach((target, i) => {
    if (target.throttled && checks[i]) saturated.push(checks[i].url)
  })
  if (t.counters.maxQueueWaitMs >= GENERATOR_BEHIND_MIN_MS) notes.push(`the generator fell behind its ramp: a connect waited up to ${(t.counters.maxQueueWaitMs / 1000).toFixed(1)}s for a handshake slot (${t.counters.connectsQueued} waited)`)
  if (t.counters.retriesHeld > 0) notes.push(`${t.counters.retriesHeld} retries held back while their target was saturated`)

  if (t.failed > 0) {
    const top = Object.entries(t.failures).sort((a, b) => b[1] - a[1])[0]
    problems.push(`${t.failed} of ${clients} clients not acknowledged${top ? ` (most often: ${top[0]}, ${top[1]}×)` : ''}`)
  }
  for (const l of t.lost) problems.push(`${l.name}: ${l.reason} (${l.clients - l.acked} of its ${l.clients} clients unaccounted for)`)
  const several = checks.length > 1
  for (const c of checks) {
    const of = several ? ` of ${c.url}` : ''
    if (c.stats === null) problems.push(`cannot read the node's /stats${of} afterwards: ${c.error ?? 'no answer'}`)
    else if (!c.zeroState) problems.push(`the node${of} is not back in zero state ${zeroStateWaitMs / 1000}s after the last close: connections=${c.stats.connections} pending=${c.stats.pending}`)
  }
  if (problems.length > 0 && saturated.length > 0) problems.push(`saturated: ${saturated.join(', ')}`)
  const ok = t.failed === 0 && t.acked === clients && t.lost.length === 0 && checks.every((c) => c.zeroState)
  return {ok, problems, saturated, notes}
}

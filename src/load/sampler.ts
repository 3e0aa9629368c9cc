/**
 * The generator watching itself: a worker samples its own CPU and event-loop
 * delay, so that a report can say when latencies include the tool's own delay
 * rather than blame the server for it.
 */
import {monitorEventLoopDelay, type IntervalHistogram} from 'node:perf_hooks'

/** A worker whose event loop lags more than this is saturated. */
export const SATURATED_EVENT_LOOP_DELAY_MS = 100
/** A worker using at least this share of one core is saturated. */
export const SATURATED_CPU = 0.95

export interface GeneratorSample {
  /** worst event-loop delay in the interval */
  eventLoopDelayMs: number
  /** CPU used over wall time in the interval (1 = one full core) */
  cpu: number
}

/** Whether a sample shows a saturated generator (pure). */
export function isSaturated(s: GeneratorSample): boolean {
  return s.eventLoopDelayMs > SATURATED_EVENT_LOOP_DELAY_MS || s.cpu >= SATURATED_CPU
}

/** What a worker (or an agent, summed) tells about itself over a run. */
export interface GeneratorStats {
  /** user + system CPU of the worker processes since they started */
  cpuMs: number
  maxEventLoopDelayMs: number
  /** time spent saturated, summed over workers */
  saturatedMs: number
  /** saturated in the latest sample */
  saturatedNow: boolean
}

export function emptyGeneratorStats(): GeneratorStats {
  return {cpuMs: 0, maxEventLoopDelayMs: 0, saturatedMs: 0, saturatedNow: false}
}

/** Samples this process every time {@link sample} is called; {@link stop} ends the monitor. */
export class GeneratorSampler {
  private readonly eld: IntervalHistogram
  private lastCpu = process.cpuUsage()
  private lastMs = performance.now()
  readonly stats: GeneratorStats = emptyGeneratorStats()

  constructor() {
    this.eld = monitorEventLoopDelay({resolution: 10})
    this.eld.enable()
  }

  /** Closes the current interval: updates and returns the stats. */
  sample(): GeneratorStats {
    const now = performance.now()
    const cpu = process.cpuUsage(this.lastCpu)
    const wallMs = now - this.lastMs
    const s: GeneratorSample = {eventLoopDelayMs: this.eld.max / 1e6, cpu: wallMs > 0 ? (cpu.user + cpu.system) / 1000 / wallMs : 0}
    this.eld.reset()
    this.lastCpu = process.cpuUsage()
    this.lastMs = now
    // the whole process since it started, module loading included
    const total = process.cpuUsage()
    this.stats.cpuMs = Math.round((total.user + total.system) / 1000)
    if (s.eventLoopDelayMs > this.stats.maxEventLoopDelayMs) this.stats.maxEventLoopDelayMs = Math.round(s.eventLoopDelayMs)
    this.stats.saturatedNow = isSaturated(s)
    if (this.stats.saturatedNow) this.stats.saturatedMs += Math.round(wallMs)
    return this.stats
  }

  /** Starts a fresh interval without judging the one before (preparation before the ramp is not load). */
  restart(): void {
    this.eld.reset()
    this.lastCpu = process.cpuUsage()
    this.lastMs = performance.now()
  }

  stop(): void {
    this.eld.disable()
  }
}

/** Latency statistics of the load test, pure. */

export interface LatencySummary {
  count: number
  p50: number | null
  p90: number | null
  p99: number | null
  max: number | null
}

/** Nearest-rank percentile of ascending `sorted` (p in (0, 100]); null when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length
  if (n === 0) return null
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)))
  return sorted[rank - 1]
}

/** p50/p90/p99/max of unsorted latencies (milliseconds). */
export function summarizeLatencies(latencies: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort()
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? null : sorted[sorted.length - 1],
  }
}

/** Running maximum of a sum of per-source gauges (e.g. open connections per worker). */
export class SummedGauge {
  private readonly values = new Map<number, number>()
  private sum = 0
  peak = 0

  set(source: number, value: number): void {
    this.sum += value - (this.values.get(source) ?? 0)
    this.values.set(source, value)
    if (this.sum > this.peak) this.peak = this.sum
  }

  get current(): number {
    return this.sum
  }
}

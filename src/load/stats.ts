/** Gauges of the load test, pure. (Latencies: histogram.ts.) */

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

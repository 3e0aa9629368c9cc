import {describe, expect, it} from 'vitest'
import {percentile, summarizeLatencies, SummedGauge} from '../../src/load/stats.js'

describe('latency statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({length: 100}, (_, i) => i + 1) // 1..100
    expect(percentile(sorted, 50)).toBe(50)
    expect(percentile(sorted, 90)).toBe(90)
    expect(percentile(sorted, 99)).toBe(99)
    expect(percentile(sorted, 100)).toBe(100)
    expect(percentile([7], 50)).toBe(7)
    expect(percentile([1, 2, 3], 50)).toBe(2)
    expect(percentile([], 50)).toBeNull()
  })

  it('summarizes unsorted latencies, with the maximum', () => {
    const s = summarizeLatencies([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])
    expect(s).toEqual({count: 10, p50: 5, p90: 9, p99: 10, max: 10})
    expect(summarizeLatencies([0.5, 0.25])).toMatchObject({p50: 0.25, max: 0.5})
  })

  it('summarizes nothing as nulls', () => {
    expect(summarizeLatencies([])).toEqual({count: 0, p50: null, p90: null, p99: null, max: null})
  })

  it('keeps the peak of a sum of per-source gauges', () => {
    const g = new SummedGauge()
    g.set(0, 5)
    g.set(1, 3)
    expect(g.current).toBe(8)
    g.set(0, 1)
    g.set(1, 4)
    expect(g.current).toBe(5)
    expect(g.peak).toBe(8)
  })
})

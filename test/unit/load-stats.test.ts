import {describe, expect, it} from 'vitest'
import {LatencyHistogram} from '../../src/load/histogram.js'
import {isSaturated} from '../../src/load/sampler.js'
import {SummedGauge} from '../../src/load/stats.js'

describe('latency histogram', () => {
  it('gives percentiles to 3 significant digits and the exact maximum', () => {
    const h = new LatencyHistogram()
    for (let i = 1; i <= 1000; i++) h.record(i / 10) // 0.1 .. 100 ms
    const s = h.summary()
    expect(s.count).toBe(1000)
    expect(s.p50).toBeCloseTo(50, 0)
    expect(s.p90).toBeCloseTo(90, 0)
    expect(s.p99).toBeCloseTo(99, 0)
    expect(s.max).toBe(100)
  })

  it('summarizes nothing as nulls', () => {
    expect(new LatencyHistogram().summary()).toEqual({count: 0, p50: null, p90: null, p99: null, max: null})
  })

  it('merges across processes through its encoding, as if every sample had been recorded in one place', () => {
    const one = new LatencyHistogram()
    const parts = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()]
    for (let i = 0; i < 30_000; i++) {
      const ms = (i % 997) * 1.7 + (i % 3) * 250
      one.record(ms)
      parts[i % 3].record(ms)
    }
    const merged = new LatencyHistogram()
    for (const p of parts) {
      const wire = JSON.parse(JSON.stringify(p.encode())) // as it crosses IPC or NATS
      merged.add(LatencyHistogram.decode(wire))
    }
    expect(merged.summary()).toEqual(one.summary())
    expect(merged.count).toBe(30_000)
  })

  it('keeps an empty part harmless when merging', () => {
    const h = new LatencyHistogram()
    h.record(5)
    h.add(LatencyHistogram.decode(new LatencyHistogram().encode()))
    expect(h.summary()).toMatchObject({count: 1, max: 5})
  })
})

describe('generator saturation', () => {
  it('is an event-loop delay over 100 ms or a full core', () => {
    expect(isSaturated({eventLoopDelayMs: 20, cpu: 0.5})).toBe(false)
    expect(isSaturated({eventLoopDelayMs: 100, cpu: 0.94})).toBe(false)
    expect(isSaturated({eventLoopDelayMs: 101, cpu: 0.1})).toBe(true)
    expect(isSaturated({eventLoopDelayMs: 5, cpu: 0.95})).toBe(true)
  })
})

describe('summed gauge', () => {
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

import {describe, expect, it} from 'vitest'
import {LOAD_BACKOFF} from '../../src/load/client.js'
import {backoffMs, LINK_BACKOFF} from '../../src/protocol/backoff.js'

describe('load clients back off exponentially with full jitter, capped', () => {
  it('uses full jitter with a cap', () => {
    expect(LOAD_BACKOFF.jitter).toBe('full')
    expect(LOAD_BACKOFF.maxMs).toBeGreaterThan(LOAD_BACKOFF.minMs)
  })

  it('stays within [0, min(cap, min·2^(attempt-1))] for every attempt and draw', () => {
    for (let attempt = 1; attempt <= 40; attempt++) {
      const ceiling = Math.min(LOAD_BACKOFF.maxMs, LOAD_BACKOFF.minMs * 2 ** (attempt - 1))
      for (const r of [0, 0.001, 0.25, 0.5, 0.999999]) {
        const d = backoffMs(attempt, LOAD_BACKOFF, () => r)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThanOrEqual(ceiling)
        expect(Number.isInteger(d)).toBe(true)
      }
      expect(backoffMs(attempt, LOAD_BACKOFF, () => 0)).toBe(0)
      expect(backoffMs(attempt, LOAD_BACKOFF, () => 1)).toBe(ceiling)
    }
  })

  it('grows, then holds at the cap', () => {
    const top = (attempt: number) => backoffMs(attempt, LOAD_BACKOFF, () => 1)
    expect([1, 2, 3, 4].map(top)).toEqual([250, 500, 1000, 2000])
    expect(top(7)).toBe(LOAD_BACKOFF.maxMs)
    expect(top(1000)).toBe(LOAD_BACKOFF.maxMs)
  })

  it('spreads a crowd over the whole interval (full jitter), unlike the links\' upper-half jitter', () => {
    const crowd = Array.from({length: 10_000}, () => backoffMs(6, LOAD_BACKOFF))
    const ceiling = Math.min(LOAD_BACKOFF.maxMs, LOAD_BACKOFF.minMs * 2 ** 5)
    expect(crowd.filter((d) => d < ceiling / 2).length).toBeGreaterThan(4000)
    expect(crowd.filter((d) => d < ceiling / 2).length).toBeLessThan(6000)
    const links = Array.from({length: 1000}, () => backoffMs(6, LINK_BACKOFF))
    expect(Math.min(...links)).toBeGreaterThanOrEqual(Math.min(LINK_BACKOFF.maxMs, LINK_BACKOFF.minMs * 32) / 2)
  })
})

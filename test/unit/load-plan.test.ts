import {describe, expect, it} from 'vitest'
import {ackDelayDrawer, clientsOfWorker, drawStartTimes, isLoopbackHost, sourceAddressFor, workerCount} from '../../src/load/plan.js'

/** A deterministic stand-in for Math.random that walks through `values`. */
function sequence(...values: number[]): () => number {
  let i = 0
  return () => values[i++ % values.length]
}

describe('load plan', () => {
  it('uses the requested workers, more when clients would exceed the per-worker cap, never more than clients', () => {
    expect(workerCount(1000, 2)).toBe(2)
    expect(workerCount(100_000, 2)).toBe(7)
    expect(workerCount(100_000, 2, 20_000)).toBe(5)
    expect(workerCount(3, 8)).toBe(3)
    expect(workerCount(1, 1)).toBe(1)
  })

  it('splits clients round robin so every client belongs to exactly one worker', () => {
    const parts = [0, 1, 2].map((w) => clientsOfWorker(10, 3, w))
    expect(parts).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ])
  })

  it('draws start times uniformly inside the ramp', () => {
    expect(drawStartTimes(4, 60_000, sequence(0, 0.5, 0.25, 0.999999))).toEqual([0, 30_000, 15_000, 59_999])
    const many = drawStartTimes(10_000, 5000)
    expect(Math.min(...many)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...many)).toBeLessThan(5000)
    // roughly uniform: each half of the ramp gets a fair share
    const firstHalf = many.filter((t) => t < 2500).length
    expect(firstHalf).toBeGreaterThan(4000)
    expect(firstHalf).toBeLessThan(6000)
  })

  it('draws ack delays in whole milliseconds over MIN..MAX, both ends included', () => {
    const draw = ackDelayDrawer({minMs: 100, maxMs: 200}, sequence(0, 0.999999, 0.5))
    expect([draw(), draw(), draw()]).toEqual([100, 200, 150])
    expect(ackDelayDrawer({minMs: 0, maxMs: 0})()).toBe(0)
    expect(ackDelayDrawer({minMs: 250, maxMs: 250}, sequence(0.7))()).toBe(250)
  })

  it('spreads loopback targets over 127.0.0.x source addresses and leaves others to the OS', () => {
    expect(sourceAddressFor(0, '127.0.0.1')).toBe('127.0.0.1')
    expect(sourceAddressFor(1, '127.0.0.1')).toBe('127.0.0.2')
    expect(sourceAddressFor(100, 'localhost')).toBe('127.0.0.1')
    expect(sourceAddressFor(5, 'example.com')).toBeUndefined()
    expect(isLoopbackHost('127.4.5.6')).toBe(true)
    expect(isLoopbackHost('10.0.0.1')).toBe(false)
  })
})

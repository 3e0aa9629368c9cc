import {describe, expect, it} from 'vitest'
import {
  ackDelayDrawer,
  defaultSourceAddresses,
  drawStartTimes,
  indicesOf,
  isLoopbackHost,
  parseAddressRange,
  plannedConcurrency,
  planWorkers,
  socketsPerWorker,
  sourceAddressFor,
  splitShare,
  targetOf,
  wholeRun,
} from '../../src/load/plan.js'

/** A deterministic stand-in for Math.random that walks through `values`. */
function sequence(...values: number[]): () => number {
  let i = 0
  return () => values[i++ % values.length]
}

describe('load plan', () => {
  it('plans the sockets open at once from the arrival rate and the longest a client may hold one', () => {
    // 2000 clients/s, each holding at most 5 s ack timeout + 0 delay + 2 s close wait
    expect(plannedConcurrency({clients: 120_000, rampMs: 60_000, ackDelay: {minMs: 0, maxMs: 0}, ackTimeoutMs: 5000})).toBe(14_000)
    expect(plannedConcurrency({clients: 150_000, rampMs: 60_000, ackDelay: {minMs: 0, maxMs: 1000}, ackTimeoutMs: 5000})).toBe(20_000)
    // never more than the clients, also with no ramp at all
    expect(plannedConcurrency({clients: 500, rampMs: 0, ackDelay: {minMs: 0, maxMs: 0}, ackTimeoutMs: 5000})).toBe(500)
  })

  it('sizes workers by concurrency, not by totals: the cores, more only when the open sockets need them, and says why', () => {
    // 150k clients over 60 s hold ~17 500 at once: 2 workers, not 10
    expect(planWorkers(150_000, 17_500, 2)).toEqual({workers: 2, reason: null})
    expect(planWorkers(120_000, 14_000, 2).workers).toBe(2)
    const more = planWorkers(200_000, 40_000, 2)
    expect(more.workers).toBe(3)
    expect(more.reason).toMatch(/^3 workers instead of 2: up to 40000 clients may be open at once, 15000 per worker at most$/)
    expect(planWorkers(1000, 1000, 2, 400).workers).toBe(3)
    expect(planWorkers(3, 3, 8)).toEqual({workers: 3, reason: null})
    expect(planWorkers(1, 1, 1).workers).toBe(1)
  })

  it('keeps a worker\'s sockets under its open-file limit', () => {
    expect(socketsPerWorker(20_000)).toBe(15_000)
    expect(socketsPerWorker(undefined)).toBe(15_000)
    expect(socketsPerWorker(4096)).toBe(3840)
    expect(socketsPerWorker(1024)).toBe(768)
    expect(socketsPerWorker(8)).toBe(6)
    // a low limit means more workers for the same concurrency
    expect(planWorkers(20_000, 14_000, 2, socketsPerWorker(4096)).workers).toBe(4)
  })

  it('splits clients round robin so every client belongs to exactly one part, also when split again', () => {
    const parts = splitShare(wholeRun(10), 3)
    expect(parts.map(indicesOf)).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ])
    // an agent's share split over its workers
    const agent = splitShare(wholeRun(1000), 3)[1]
    const workers = splitShare(agent, 4)
    const all = workers.flatMap(indicesOf)
    expect(all.length).toBe(agent.count)
    expect(new Set(all)).toEqual(new Set(indicesOf(agent)))
    const everything = splitShare(wholeRun(1000), 3).flatMap((s) => splitShare(s, 2).flatMap(indicesOf))
    expect(everything.sort((a, b) => a - b)).toEqual(Array.from({length: 1000}, (_, i) => i))
    expect(splitShare(wholeRun(2), 3)[2].count).toBe(0)
  })

  it('spreads each share evenly over every target', () => {
    for (const share of splitShare(wholeRun(1001), 2)) {
      const counts = [0, 0, 0]
      for (let k = 0; k < share.count; k++) counts[targetOf(share, k, 3)]++
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
    }
  })

  it('draws start times uniformly inside the ramp', () => {
    expect(drawStartTimes(4, 60_000, sequence(0, 0.5, 0.25, 0.999999))).toEqual([0, 30_000, 15_000, 59_999])
    const many = drawStartTimes(10_000, 5000)
    expect(Math.min(...many)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...many)).toBeLessThan(5000)
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

  it('spreads loopback targets over 127.0.0.1-100 and leaves others to the OS', () => {
    const loop = defaultSourceAddresses('127.0.0.1')
    expect(loop).toHaveLength(100)
    expect(sourceAddressFor(0, loop)).toBe('127.0.0.1')
    expect(sourceAddressFor(1, loop)).toBe('127.0.0.2')
    expect(sourceAddressFor(100, defaultSourceAddresses('localhost'))).toBe('127.0.0.1')
    expect(sourceAddressFor(5, defaultSourceAddresses('example.com'))).toBeUndefined()
    expect(isLoopbackHost('127.4.5.6')).toBe(true)
    expect(isLoopbackHost('10.0.0.1')).toBe(false)
  })

  it('parses source address ranges, across octets too, and refuses bad ones in one line', () => {
    expect(parseAddressRange('127.0.1.1-127.0.1.3')).toEqual(['127.0.1.1', '127.0.1.2', '127.0.1.3'])
    expect(parseAddressRange('127.0.0.255-127.0.1.0')).toEqual(['127.0.0.255', '127.0.1.0'])
    expect(parseAddressRange('10.1.2.3')).toEqual(['10.1.2.3'])
    expect(() => parseAddressRange('127.0.1.9-127.0.1.1')).toThrow(/the last address comes before the first/)
    expect(() => parseAddressRange('127.0.0.1-127.0.255.255')).toThrow(/at most 4096 addresses/)
    expect(() => parseAddressRange('127.0.0.300')).toThrow(/^invalid address range "127.0.0.300": use FIRST-LAST/)
    expect(() => parseAddressRange('a-b-c')).toThrow(/invalid address range/)
  })
})

import {describe, expect, it} from 'vitest'
import {aggregate, asPartResult, sumProgress, type PartOutcome} from '../../src/load/aggregate.js'
import {LatencyHistogram} from '../../src/load/histogram.js'
import {emptyCounters, emptyTargetCounters, type Counters, type PartResult} from '../../src/load/ipc.js'
import {emptyGeneratorStats} from '../../src/load/sampler.js'
import {GENERATOR_SATURATED_NOTE, verdict, type TargetCheck} from '../../src/load/verdict.js'

function result(opts: {acked: number; failed?: number; latencies: number[]; counters?: Partial<Counters>; failures?: Record<string, number>; retryReasons?: Record<string, number>; cpuMs?: number; saturatedMs?: number; targets?: number}): PartResult {
  const h = new LatencyHistogram()
  for (const l of opts.latencies) h.record(l)
  const targets = Array.from({length: opts.targets ?? 1}, (_, i) => ({...emptyTargetCounters(), clients: i === 0 ? opts.acked + (opts.failed ?? 0) : 0, acked: i === 0 ? opts.acked : 0}))
  return {
    counters: {...emptyCounters(), started: opts.acked + (opts.failed ?? 0), connects: opts.acked, acked: opts.acked, failed: opts.failed ?? 0, ...opts.counters},
    latencies: h.encode(),
    failures: opts.failures ?? {},
    retryReasons: opts.retryReasons ?? {},
    targets,
    generator: {...emptyGeneratorStats(), cpuMs: opts.cpuMs ?? 0, saturatedMs: opts.saturatedMs ?? 0},
    workers: 1,
  }
}

const zero = (url = 'ws://127.0.0.1:1/ws'): TargetCheck => ({url, stats: {connections: 0, pending: 0}, zeroState: true})

describe('aggregate', () => {
  it('sums counters and reasons and merges histograms of every part', () => {
    const parts: PartOutcome[] = [
      {name: 'worker 1', clients: 3, result: result({acked: 3, latencies: [1, 2, 3], retryReasons: {'no ok within 5s': 1}, counters: {retries: 1, clientsRetried: 1, firstOpenMs: 1000, lastOpenMs: 3000}, cpuMs: 30})},
      {name: 'worker 2', clients: 2, result: result({acked: 1, failed: 1, latencies: [10], failures: {'connection refused': 1}, retryReasons: {'no ok within 5s': 2}, counters: {retries: 2, clientsRetried: 1, firstOpenMs: 2000, lastOpenMs: 5000}, cpuMs: 20})},
    ]
    const t = aggregate(parts, 1)
    expect(t).toMatchObject({clients: 5, acked: 4, failed: 1, failures: {'connection refused': 1}, retryReasons: {'no ok within 5s': 3}, lost: []})
    expect(t.counters).toMatchObject({retries: 3, clientsRetried: 2, firstOpenMs: 1000, lastOpenMs: 5000})
    expect(t.latency).toMatchObject({count: 4, max: 10})
    expect(t.latency.p50).toBeCloseTo(2, 1)
    expect(t.generator).toMatchObject({cpuMs: 50, workers: 2})
    expect(t.connectRatePerS).toBe(1) // 4 connects over 4 s
    expect(t.targets[0]).toMatchObject({clients: 5, acked: 4})
  })

  it('counts the unacknowledged clients of a part that vanished as failed, keeping what it had acknowledged', () => {
    const last = {counters: {...emptyCounters(), started: 80, acked: 60, open: 20}, generator: emptyGeneratorStats()}
    const t = aggregate(
      [
        {name: 'worker 1', clients: 100, result: result({acked: 100, latencies: [1]})},
        {name: 'agent lab-2', clients: 100, lost: 'disappeared mid-run: no word for 3s', last},
      ],
      1,
    )
    expect(t).toMatchObject({clients: 200, acked: 160, failed: 40})
    expect(t.failures).toEqual({'disappeared mid-run: no word for 3s': 40})
    expect(t.lost).toEqual([{name: 'agent lab-2', reason: 'disappeared mid-run: no word for 3s', clients: 100, acked: 60}])
  })

  it('places an agent\'s open times on the runner\'s clock', () => {
    const t = aggregate([{name: 'agent a', clients: 1, result: result({acked: 1, latencies: [1], counters: {firstOpenMs: 10_500, lastOpenMs: 11_500}}), clockOffsetMs: 500}], 1)
    expect(t.counters.firstOpenMs).toBe(10_000)
    expect(t.counters.lastOpenMs).toBe(11_000)
  })

  it('turns totals back into one part (an agent reporting its workers as one), losing nothing', () => {
    const inner = aggregate(
      [
        {name: 'w1', clients: 2, result: result({acked: 2, latencies: [5, 7]})},
        {name: 'w2', clients: 2, result: result({acked: 2, latencies: [9, 300]})},
      ],
      1,
    )
    const outer = aggregate([{name: 'agent', clients: 4, result: JSON.parse(JSON.stringify(asPartResult(inner)))}], 1)
    expect(outer.latency).toEqual(inner.latency)
    expect(outer).toMatchObject({acked: 4, failed: 0})
    expect(outer.generator.workers).toBe(2)
  })

  it('sums progress of several participants', () => {
    const p = sumProgress([
      {counters: {...emptyCounters(), open: 3, acked: 5}, generator: {...emptyGeneratorStats(), saturatedNow: false}},
      undefined,
      {counters: {...emptyCounters(), open: 4, acked: 1}, generator: {...emptyGeneratorStats(), saturatedNow: true}},
    ])
    expect(p.counters).toMatchObject({open: 7, acked: 6})
    expect(p.generator.saturatedNow).toBe(true)
  })
})

describe('verdict', () => {
  it('passes when every client is acknowledged and every target is in zero state', () => {
    const t = aggregate([{name: 'w', clients: 2, result: result({acked: 2, latencies: [1, 2]})}], 1)
    expect(verdict(t, 2, [zero()], 5000)).toEqual({ok: true, problems: [], saturated: [], notes: []})
  })

  it('names the most frequent reason for clients not acknowledged', () => {
    const t = aggregate([{name: 'w', clients: 5, result: result({acked: 2, failed: 3, latencies: [1], failures: {'connection refused': 2, 'no ok within 5s': 1}})}], 1)
    const v = verdict(t, 5, [zero()], 5000)
    expect(v.ok).toBe(false)
    expect(v.problems).toEqual(['3 of 5 clients not acknowledged (most often: connection refused, 2×)'])
  })

  it('fails on a target not back in zero state or unreadable, naming it when there are several', () => {
    const t = aggregate([{name: 'w', clients: 1, result: result({acked: 1, latencies: [1]})}], 2)
    const v = verdict(t, 1, [zero('ws://a/ws'), {url: 'ws://b/ws', stats: {connections: 2, pending: 1}, zeroState: false}], 5000)
    expect(v.ok).toBe(false)
    expect(v.problems).toEqual(['the node of ws://b/ws is not back in zero state 5s after the last close: connections=2 pending=1'])
    const one = verdict(t, 1, [{url: 'ws://a/ws', stats: null, error: 'a: connection refused', zeroState: false}], 5000)
    expect(one.problems).toEqual(["cannot read the node's /stats afterwards: a: connection refused"])
  })

  it('fails clearly when a participant disappeared, by name', () => {
    const t = aggregate([{name: 'agent lab-2', clients: 10, lost: 'disappeared mid-run: no word for 3s'}], 1)
    const v = verdict(t, 10, [zero()], 5000)
    expect(v.ok).toBe(false)
    expect(v.problems).toContain('agent lab-2: disappeared mid-run: no word for 3s (10 of its 10 clients unaccounted for)')
  })

  it('says when the generator was saturated, and names the saturated sides of a failed run', () => {
    const t = aggregate([{name: 'w', clients: 2, result: result({acked: 1, failed: 1, latencies: [1], failures: {x: 1}, saturatedMs: 4000, counters: {retriesHeld: 7}})}], 1)
    t.targets[0].throttled = true
    const v = verdict(t, 2, [zero('ws://n/ws')], 5000)
    expect(v.saturated).toEqual(['generator', 'ws://n/ws'])
    expect(v.notes[0]).toMatch(new RegExp(`^${GENERATOR_SATURATED_NOTE} \\(4\\.0 worker-seconds`))
    expect(v.notes[1]).toBe('7 retries held back while their target was saturated')
    expect(v.problems.at(-1)).toBe('saturated: generator, ws://n/ws')
  })

  it('says when the generator fell behind its ramp (connects waited a second or more for a slot)', () => {
    const parts = (wait: number): PartOutcome[] => [
      {name: 'w1', clients: 1, result: result({acked: 1, latencies: [1], counters: {maxQueueWaitMs: wait, connectsQueued: 40}})},
      {name: 'w2', clients: 1, result: result({acked: 1, latencies: [1], counters: {maxQueueWaitMs: 10, connectsQueued: 2}})},
    ]
    expect(verdict(aggregate(parts(2500), 1), 2, [zero()], 5000).notes).toEqual(['the generator fell behind its ramp: a connect waited up to 2.5s for a handshake slot (42 waited)'])
    expect(verdict(aggregate(parts(900), 1), 2, [zero()], 5000).notes).toEqual([])
  })

  it('does not call a moment of generator load saturation', () => {
    const t = aggregate([{name: 'w', clients: 1, result: result({acked: 1, latencies: [1], saturatedMs: 250})}], 1)
    expect(verdict(t, 1, [zero()], 5000)).toMatchObject({ok: true, saturated: [], notes: []})
  })
})

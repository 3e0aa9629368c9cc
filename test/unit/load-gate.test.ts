import {describe, expect, it} from 'vitest'
import {ConnectGate} from '../../src/load/gate.js'

/** Records the order in which connects were let through. */
function recorder() {
  const went: string[] = []
  return {went, go: (name: string) => () => went.push(name)}
}

describe('connect gate', () => {
  it('caps the handshakes in flight and lets the next one through as each ends, in order', () => {
    const gate = new ConnectGate({targets: 1, maxHandshakes: 2, maxSockets: 100})
    const {went, go} = recorder()
    for (const n of ['a', 'b', 'c', 'd']) gate.request(0, false, go(n))
    expect(went).toEqual(['a', 'b'])
    expect(gate.waiting).toBe(2)
    expect(gate.queued).toBe(2)
    gate.handshakeDone(0, true)
    expect(went).toEqual(['a', 'b', 'c'])
    gate.handshakeDone(0, false)
    expect(went).toEqual(['a', 'b', 'c', 'd'])
    expect(gate.waiting).toBe(0)
  })

  it('caps the open sockets of a worker: an opened socket holds its slot until it closes', () => {
    const gate = new ConnectGate({targets: 1, maxHandshakes: 10, maxSockets: 2})
    const {went, go} = recorder()
    for (const n of ['a', 'b', 'c']) gate.request(0, false, go(n))
    gate.handshakeDone(0, true)
    gate.handshakeDone(0, true)
    expect(went).toEqual(['a', 'b'])
    gate.socketClosed()
    expect(went).toEqual(['a', 'b', 'c'])
  })

  it('lets retries through while the target succeeds', () => {
    const gate = new ConnectGate({targets: 1, maxHandshakes: 10, maxSockets: 100})
    const {went, go} = recorder()
    gate.request(0, false, go('a'))
    gate.handshakeDone(0, true)
    gate.failure(0) // one failure among many successes is no saturation
    gate.request(0, true, go('a again'))
    expect(went).toEqual(['a', 'a again'])
    expect(gate.held).toBe(0)
    expect(gate.saturated(0)).toBe(false)
  })

  it('holds retries while a target fails more than it succeeds, and releases them once it succeeds again', () => {
    const gate = new ConnectGate({targets: 1, maxHandshakes: 100, maxSockets: 1000, budgetTokens: 10, budgetRatio: 0.1})
    const {went, go} = recorder()
    // a fresh connect is in flight (no probe needed), then six failures: saturated
    gate.request(0, false, go('fresh'))
    for (let i = 0; i < 6; i++) gate.failure(0)
    expect(gate.saturated(0)).toBe(true)
    for (let i = 0; i < 3; i++) gate.request(0, true, go(`retry ${i}`))
    expect(went).toEqual(['fresh'])
    expect(gate.held).toBe(3)
    // fresh starts still go: they are the user's schedule, and they probe the target
    gate.request(0, false, go('fresh 2'))
    expect(went).toEqual(['fresh', 'fresh 2'])
    gate.handshakeDone(0, true)
    gate.handshakeDone(0, true)
    // with nothing in flight one retry probes whether the target is back
    expect(went).toEqual(['fresh', 'fresh 2', 'retry 0'])
    // a success alone (0.1 token) does not reopen the budget...
    gate.success(0)
    expect(went).toHaveLength(3)
    // ...enough successes do, and the held retries go
    for (let i = 0; i < 10; i++) gate.success(0)
    expect(gate.saturated(0)).toBe(false)
    expect(went).toEqual(['fresh', 'fresh 2', 'retry 0', 'retry 1', 'retry 2'])
    expect(gate.everThrottled(0)).toBe(true)
    expect(gate.heldOf(0)).toBe(3)
  })

  it('never holds held retries forever: with nothing in flight one goes as a probe at a time', () => {
    const gate = new ConnectGate({targets: 1, maxHandshakes: 100, maxSockets: 1000})
    const {went, go} = recorder()
    for (let i = 0; i < 10; i++) gate.failure(0)
    gate.request(0, true, go('p1')) // nothing in flight: goes at once as the probe
    gate.request(0, true, go('p2'))
    gate.request(0, true, go('p3'))
    expect(went).toEqual(['p1'])
    gate.handshakeDone(0, false)
    gate.failure(0)
    expect(went).toEqual(['p1', 'p2'])
    gate.handshakeDone(0, false)
    expect(went).toEqual(['p1', 'p2', 'p3'])
  })

  it('keeps each target\'s budget apart: a saturated target does not hold the retries of another', () => {
    const gate = new ConnectGate({targets: 2, maxHandshakes: 100, maxSockets: 1000})
    const {went, go} = recorder()
    gate.request(0, false, go('busy'))
    gate.request(1, false, go('other'))
    for (let i = 0; i < 10; i++) gate.failure(0)
    gate.request(0, true, go('held'))
    gate.request(1, true, go('goes'))
    expect(went).toEqual(['busy', 'other', 'goes'])
    expect(gate.saturated(0)).toBe(true)
    expect(gate.saturated(1)).toBe(false)
  })
})

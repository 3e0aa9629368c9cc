import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {Relay, slotStore, type RelaySlot} from '../../src/node/relay.js'

/**
 * The relay's bookkeeping against a model that keeps, for every X, the sets
 * of its origins and holders: any sequence of messages, oks (from holders
 * and from anyone), closes and re-opens over a few connections and a few
 * texts (so that the same X comes back, as a client repeating a message
 * does) must agree with it on every answer, and on what each connection
 * waits for.
 */

interface C extends RelaySlot {
  name: string
}

type Op = {kind: 'message' | 'ok'; c: number; x: number} | {kind: 'close'; c: number}

const CONNS = 4
const TEXTS = 6

const op: fc.Arbitrary<Op> = fc.oneof(
  {weight: 5, arbitrary: fc.record({kind: fc.constant('message' as const), c: fc.nat(CONNS - 1), x: fc.nat(TEXTS - 1)})},
  {weight: 5, arbitrary: fc.record({kind: fc.constant('ok' as const), c: fc.nat(CONNS - 1), x: fc.nat(TEXTS - 1)})},
  {weight: 1, arbitrary: fc.record({kind: fc.constant('close' as const), c: fc.nat(CONNS - 1)})},
)

function run(ops: Op[], seed: number): void {
  let state = seed
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
  const conns: C[] = Array.from({length: CONNS}, (_, i) => ({name: `c${i}`}))
  const relay = new Relay<C>(() => true, random, undefined, undefined, undefined, slotStore)
  for (const c of conns) relay.add(c)
  const model = new Map<string, {origins: Set<C>; holders: Set<C>}>()
  const names = (list: readonly C[]) => list.map((c) => c.name).sort()

  for (const o of ops) {
    const c = conns[o.c]
    if (o.kind === 'message') {
      const x = `x${o.x}`
      const to = relay.message(c, x)
      expect(to).toBeDefined()
      const entry = model.get(x) ?? {origins: new Set<C>(), holders: new Set<C>()}
      model.set(x, entry)
      entry.origins.add(c)
      entry.holders.add(to as C)
    } else if (o.kind === 'ok') {
      const x = `x${o.x}`
      const entry = model.get(x)
      const origins = relay.ok(c, x)
      if (entry === undefined) expect(origins).toEqual([])
      else if (!entry.holders.has(c)) expect(origins).toBeUndefined()
      else {
        expect(names(origins as C[])).toEqual(names([...entry.origins]))
        model.delete(x)
      }
    } else {
      const forwards = relay.remove(c)
      const expected: string[] = []
      for (const [x, entry] of model) {
        entry.origins.delete(c)
        if (entry.origins.size === 0) {
          model.delete(x)
          continue
        }
        if (entry.holders.delete(c) && entry.holders.size === 0) expected.push(x)
      }
      expect(forwards.map((f) => f.text).sort()).toEqual(expected.sort())
      for (const f of forwards) (model.get(f.text) as {holders: Set<C>}).holders.add(f.to)
      // it comes back at once, as a client that reconnects
      relay.add(c)
    }
    expect(relay.pending).toBe(model.size)
    for (const k of conns) {
      const waiting = [...model.values()].filter((e) => e.origins.has(k)).length
      expect(relay.waitingFor(k)).toBe(waiting)
      // what a connection's trails carry stays within twice what is live, plus the slack
      const st = k.relayState
      expect(st?.originOf?.texts?.length ?? 0).toBeLessThanOrEqual(2 * waiting + 9)
      const held = [...model.values()].filter((e) => e.holders.has(k)).length
      expect(st?.holding?.texts?.length ?? 0).toBeLessThanOrEqual(2 * held + 9)
    }
  }
  for (const c of conns) relay.remove(c)
  expect(relay.pending).toBe(0)
}

describe('relay bookkeeping (property)', () => {
  it('agrees with a model of origins and holders on every answer, whatever the order of messages, oks and closes', () => {
    fc.assert(
      fc.property(fc.array(op, {maxLength: 200}), fc.nat(), (ops, seed) => run(ops, seed)),
      {numRuns: 300},
    )
  })

  it('keeps a connection that sends the same message again and again, each acknowledged, to a short trail', () => {
    const a: C = {name: 'a'}
    const b: C = {name: 'b'}
    const relay = new Relay<C>(() => true, () => 0.99, undefined, undefined, undefined, slotStore)
    relay.add(a)
    relay.add(b)
    // one message always waiting, the same X acknowledged and sent again 10 000 times
    relay.message(a, 'first')
    for (let i = 0; i < 10_000; i++) {
      expect(relay.message(a, 'again')).toBe(b)
      expect(relay.ok(b, 'again')).toEqual([a])
    }
    expect(relay.waitingFor(a)).toBe(1)
    expect(a.relayState?.originOf?.texts?.length).toBeLessThanOrEqual(2 + 9)
    expect(b.relayState?.holding?.texts?.length).toBeLessThanOrEqual(2 + 9)
  })
})

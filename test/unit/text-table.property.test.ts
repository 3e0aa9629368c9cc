import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {DELETES_PER_COPY, RENEW_AFTER_DELETES, TextTable} from '../../src/node/text-table.js'

/**
 * The relay's table of X against a plain `Map`: any sequence of sets, gets
 * and deletes, long enough to cross several renewals, gives the same answers
 * and the same size, and what is left is the same.
 */

type Op = {kind: 'set'; text: string; value: number} | {kind: 'get' | 'delete'; text: string}

/** few texts, so that they come back (a set after a delete, a delete of one never set) */
const text = fc.oneof(
  {weight: 20, arbitrary: fc.nat(40).map((n) => `x${n}`)},
  {weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', '', '7', '07')},
  {weight: 1, arbitrary: fc.string({maxLength: 1})},
)

const op: fc.Arbitrary<Op> = fc.oneof(
  {weight: 5, arbitrary: fc.record({kind: fc.constant('set' as const), text, value: fc.integer()})},
  {weight: 1, arbitrary: fc.record({kind: fc.constant('get' as const), text})},
  {weight: 4, arbitrary: fc.record({kind: fc.constant('delete' as const), text})},
)

describe('TextTable', () => {
  it('answers as a Map does, across renewals', () => {
    let renewals = 0
    fc.assert(
      fc.property(fc.array(op, {minLength: 4000, maxLength: 8000}), (ops) => {
        const table = new TextTable<{value: number}>()
        const model = new Map<string, {value: number}>()
        for (const o of ops) {
          if (o.kind === 'set') {
            const v = {value: o.value}
            expect(table.set(o.text, v)).toBe(table)
            model.set(o.text, v)
          } else if (o.kind === 'get') {
            expect(table.get(o.text)).toBe(model.get(o.text))
          } else {
            expect(table.delete(o.text)).toBe(model.delete(o.text))
          }
          expect(table.size).toBe(model.size)
        }
        for (const [t, v] of model) expect(table.get(t)).toBe(v)
        renewals += table.renewals
      }),
      // a failing run of thousands of operations takes minutes to shrink: report it as found
      {numRuns: 25, endOnFailure: true},
    )
    expect(renewals).toBeGreaterThan(0)
  })

  it('renews once enough was deleted, and only when the copy is small', () => {
    const table = new TextTable<number>()
    const big = RENEW_AFTER_DELETES * 2
    for (let i = 0; i < big; i++) table.set(`a${i}`, i)
    // RENEW_AFTER_DELETES deletes with as many texts left: too big a copy
    for (let i = 0; i < RENEW_AFTER_DELETES; i++) table.delete(`a${i}`)
    expect(table.renewals).toBe(0)
    // deletes go on until the texts left are few enough for their count
    let deleted = RENEW_AFTER_DELETES
    while (table.renewals === 0 && deleted < big) table.delete(`a${deleted++}`)
    expect(table.renewals).toBe(1)
    expect((big - deleted) * DELETES_PER_COPY).toBeLessThanOrEqual(deleted)
    expect(table.size).toBe(big - deleted)
    for (let i = deleted; i < big; i++) expect(table.get(`a${i}`)).toBe(i)
    // a delete of a text not there counts for nothing
    for (let i = 0; i < 2 * RENEW_AFTER_DELETES; i++) expect(table.delete('absent')).toBe(false)
    expect(table.renewals).toBe(1)
  })
})

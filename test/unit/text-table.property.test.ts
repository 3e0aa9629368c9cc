import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {TextTable} from '../../src/node/text-table.js'

/**
 * The relay's table of X against a `Map`: any sequence of sets, gets and
 * deletes must give the same answers and the same size. Texts are drawn from
 * ones an object's properties could get wrong (names Object.prototype has,
 * indices and near-indices, the empty text) and from any string.
 */

const AWKWARD = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '', '0', '7', '07', '-0', '1e3', '4294967294', '4294967295', 'NaN', 'undefined', 'length', ' ', 'ü', '😀']

const text = fc.oneof(fc.constantFrom(...AWKWARD), fc.string(), fc.string({unit: 'grapheme'}))

type Op = {kind: 'set'; text: string; value: number} | {kind: 'get' | 'delete'; text: string}

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({kind: fc.constant('set' as const), text, value: fc.integer()}),
  fc.record({kind: fc.constant('get' as const), text}),
  fc.record({kind: fc.constant('delete' as const), text}),
)

describe('TextTable', () => {
  it('answers as a Map does, for any texts', () => {
    fc.assert(
      fc.property(fc.array(op, {maxLength: 200}), (ops) => {
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
      }),
      {numRuns: 300},
    )
  })

  it('inherits nothing: a text Object.prototype has is absent until set', () => {
    const table = new TextTable<object>()
    for (const t of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(table.get(t)).toBeUndefined()
      expect(table.delete(t)).toBe(false)
    }
    expect(table.size).toBe(0)
    const v = {}
    table.set('__proto__', v)
    expect(table.get('__proto__')).toBe(v)
    expect(table.get('constructor')).toBeUndefined()
    expect(table.size).toBe(1)
  })

  it('keeps an index and a text that reads as the same number apart', () => {
    const table = new TextTable<{n: string}>()
    for (const t of ['7', '07', '7.0', '+7']) table.set(t, {n: t})
    expect(table.size).toBe(4)
    for (const t of ['7', '07', '7.0', '+7']) expect(table.get(t)).toEqual({n: t})
    expect(table.delete('7')).toBe(true)
    expect(table.get('07')).toEqual({n: '07'})
    expect(table.size).toBe(3)
  })
})

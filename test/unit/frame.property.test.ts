import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {decodeFrame, encodeFrame, type Frame} from '../../src/protocol/frame.js'

/** Strings of any code points, lone surrogates included: what a socket can hand us after UTF-8 decoding. */
const anyText = fc.string({unit: 'binary'})
const nonEmptyText = fc.string({unit: 'binary', minLength: 1})
const seq = fc.integer({min: 0, max: Number.MAX_SAFE_INTEGER})
/** A command name: no whitespace of any kind, as the codec's \S+ wants. */
const cmdName = fc.string({unit: 'grapheme', minLength: 1}).filter((s) => /^\S+$/.test(s))

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  nonEmptyText.map((text): Frame => ({verb: 'message', text})),
  nonEmptyText.map((text): Frame => ({verb: 'ok', text})),
  anyText.map((text): Frame => ({verb: 'error', text})),
  fc
    .record(
      {id: anyText, name: anyText, port: fc.integer({min: 0, max: 65535}), role: fc.constantFrom('node' as const, 'client' as const)},
      {requiredKeys: []},
    )
    .map((hello): Frame => ({verb: 'hello', hello})),
  fc.record({id: anyText, name: anyText}).map((welcome): Frame => ({verb: 'welcome', welcome})),
  fc.record({n: seq, name: cmdName, arg: fc.option(anyText, {nil: undefined})}).map(({n, name, arg}): Frame =>
    arg === undefined ? {verb: 'cmd', n, name} : {verb: 'cmd', n, name, arg},
  ),
  fc.record({n: seq, body: fc.dictionary(anyText, fc.jsonValue())}).map(({n, body}): Frame => ({verb: 'res', n, body: body as Record<string, unknown>})),
)

describe('frame codec (properties)', () => {
  it('never throws on any input and answers every invalid frame with a one-line reason', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.string({unit: 'grapheme'}), fc.constantFrom('message', 'ok', 'hello', 'cmd', 'res', 'welcome').chain((v) => anyText.map((t) => `${v} ${t}`))), (data) => {
        const decoded = decodeFrame(data)
        if (!decoded.ok) {
          expect(decoded.error.length).toBeGreaterThan(0)
          expect(decoded.error).not.toMatch(/[\r\n]/)
        }
      }),
      {numRuns: 2000},
    )
  })

  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        const decoded = decodeFrame(encodeFrame(frame))
        expect(decoded.ok).toBe(true)
        if (!decoded.ok) return
        expect(decoded.frame.verb).toBe(frame.verb)
        // JSON payloads are compared in their encoded form: -0 and key order survive JSON only as text
        expect(encodeFrame(decoded.frame)).toBe(encodeFrame(frame))
        if (frame.verb === 'message' || frame.verb === 'ok' || frame.verb === 'error' || frame.verb === 'cmd') {
          expect(decoded.frame).toEqual(frame)
        }
      }),
      {numRuns: 2000},
    )
  })

  it('re-encodes any frame it accepted to a frame that decodes the same', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, frameArb.map(encodeFrame)), (data) => {
        const first = decodeFrame(data)
        if (!first.ok) return
        const again = decodeFrame(encodeFrame(first.frame))
        expect(again.ok).toBe(true)
        if (again.ok) expect(encodeFrame(again.frame)).toBe(encodeFrame(first.frame))
      }),
      {numRuns: 2000},
    )
  })
})

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {isUtf8} from 'node:buffer'
import {decodeFrame, encodeFrame, HOT_PAYLOAD_OFFSET, hotVerb, payloadOf, type Frame} from '../../src/protocol/frame.js'

/** Strings of any code points, lone surrogates included: what a socket can hand us after UTF-8 decoding. */
const anyText = fc.string({unit: 'binary'})
const nonEmptyText = fc.string({unit: 'binary', minLength: 1})
const seq = fc.integer({min: 0, max: Number.MAX_SAFE_INTEGER})
/** A command name: no whitespace of any kind, as the codec's \S+ wants. */
const cmdName = fc.string({unit: 'grapheme', minLength: 1}).filter((s) => /^\S+$/.test(s))

/** Any text that UTF-8 can carry: every code point but the surrogates (what a socket can deliver as a valid text frame). */
const utf8Text = (minLength = 0) =>
  fc
    .array(fc.oneof(fc.integer({min: 0, max: 0x7f}), fc.integer({min: 0x80, max: 0xd7ff}), fc.integer({min: 0xe000, max: 0x10ffff})), {minLength, maxLength: 64})
    .map((cps) => String.fromCodePoint(...cps))
/** Bytes as a socket could hand them to the fast path: valid UTF-8, often starting like one of its verbs. */
const utf8Bytes = fc
  .tuple(fc.constantFrom('', 'message', 'message ', 'ok', 'ok ', 'm', 'o', 'messages ', 'okay '), fc.uint8Array({maxLength: 48}))
  .map(([head, tail]) => Buffer.concat([Buffer.from(head), tail]))
  .filter((b) => isUtf8(b))

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

  it('reads message X and ok X from the bytes: any UTF-8 payload comes out as its text, and its bytes are exactly the frame\'s after the verb', () => {
    fc.assert(
      fc.property(fc.constantFrom('message' as const, 'ok' as const), utf8Text(1), (verb, text) => {
        const bytes = Buffer.from(`${verb} ${text}`)
        expect(hotVerb(bytes)).toBe(verb)
        const payload = payloadOf(bytes, verb)
        expect(payload).toBe(text)
        // byte-exact: passing the frame on as it arrived is the same as encoding its text again
        expect(Buffer.from(payload).equals(bytes.subarray(HOT_PAYLOAD_OFFSET[verb]))).toBe(true)
        expect(Buffer.from(encodeFrame({verb, text: payload})).equals(bytes)).toBe(true)
      }),
      {numRuns: 2000},
    )
  })

  it('agrees with decodeFrame on any valid UTF-8 frame: the fast path takes exactly the non-empty message and ok frames', () => {
    fc.assert(
      fc.property(utf8Bytes, (bytes) => {
        const decoded = decodeFrame(bytes.toString())
        const verb = hotVerb(bytes)
        if (verb === undefined) {
          // everything else is decoded in full: never a message or ok frame
          expect(decoded.ok && (decoded.frame.verb === 'message' || decoded.frame.verb === 'ok')).toBe(false)
        } else {
          expect(decoded).toEqual({ok: true, frame: {verb, text: payloadOf(bytes, verb)}})
        }
      }),
      {numRuns: 3000},
    )
  })

  it('leaves empty payloads and bare verbs to decodeFrame, which refuses them', () => {
    for (const frame of ['message', 'message ', 'ok', 'ok ', '', 'messag', 'm', 'o']) {
      expect(hotVerb(Buffer.from(frame)), JSON.stringify(frame)).toBeUndefined()
    }
  })
})

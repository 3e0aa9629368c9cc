import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {escapeForTerminal, jsonForTerminal} from '../../src/protocol/terminal-text.js'

/** Anything a terminal could act on: C0, DEL, C1, bidi controls, line/paragraph separators, lone surrogates. */
const UNSAFE = /[\p{Cc}\p{Bidi_Control}\p{Zl}\p{Zp}\p{Cs}]/u

/**
 * Any UTF-16 string, lone surrogates included (what a JS string from a socket
 * can hold), drawn often from Latin-1 and the special code points so that
 * every one of them is met in a run.
 */
const codeUnit = fc.oneof(
  fc.integer({min: 0, max: 0xffff}),
  fc.integer({min: 0, max: 0xff}),
  fc.constantFrom(0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2066, 0x2069, 0xd800, 0xdbff, 0xdc00, 0xdfff),
)
const anyString = fc.string({unit: codeUnit.map((n) => String.fromCharCode(n)), maxLength: 60})
/** Full Unicode text (surrogates only in pairs) with the unsafe characters taken out. */
const printable = fc.string({unit: 'grapheme', maxLength: 60}).map((s) => [...s].filter((ch) => !UNSAFE.test(ch)).join(''))

describe('escapeForTerminal', () => {
  it('never lets a control character, bidi control, separator or lone surrogate through (property)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(UNSAFE.test(escapeForTerminal(s))).toBe(false)
      }),
      {numRuns: 2000},
    )
  })

  it('leaves printable text unchanged, emoji and other scripts included (property)', () => {
    fc.assert(
      fc.property(printable, (s) => {
        expect(escapeForTerminal(s)).toBe(s)
      }),
      {numRuns: 1000},
    )
  })

  it('is idempotent: escaped text has nothing left to escape (property)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(escapeForTerminal(escapeForTerminal(s))).toBe(escapeForTerminal(s))
      }),
    )
  })

  it('keeps the printable parts in order and replaces each unsafe character by one visible escape (property)', () => {
    fc.assert(
      fc.property(printable, anyString, printable, (a, b, c) => {
        const out = escapeForTerminal(a + b + c)
        expect(out.startsWith(a)).toBe(true)
        expect(out.endsWith(c)).toBe(true)
        expect(out.slice(a.length, out.length - c.length)).toBe(escapeForTerminal(b))
      }),
    )
  })

  it('shows escapes the way JavaScript writes them', () => {
    const cases: Array<[string, string]> = [
      ['line one\nforged line', 'line one\\nforged line'],
      ['a\r\tb', 'a\\r\\tb'],
      ['\x1b[2J\x1b[31mred', '\\x1b[2J\\x1b[31mred'],
      // OSC 52: write to the operator's clipboard, terminated by BEL
      ['\x1b]52;c;cm0gLXJmIH4=\x07', '\\x1b]52;c;cm0gLXJmIH4=\\x07'],
      ['nul\x00 del\x7f', 'nul\\x00 del\\x7f'],
      // C1: CSI and NEL as single code points
      ['\u009b2J \u0085', '\\x9b2J \\x85'],
      // Trojan Source: right-to-left override and isolates
      ['user\u202Etxt.exe', 'user\\u202etxt.exe'],
      ['\u2066\u2069\u200f\u061c', '\\u2066\\u2069\\u200f\\u061c'],
      ['para\u2028line\u2029', 'para\\u2028line\\u2029'],
      ['lone \ud800 and \udfff', 'lone \\ud800 and \\udfff'],
      ['a pair 😀 stays, é stays, 日本語 stays, back\\slash stays', 'a pair 😀 stays, é stays, 日本語 stays, back\\slash stays'],
    ]
    for (const [input, shown] of cases) expect(escapeForTerminal(input), JSON.stringify(input)).toBe(shown)
  })
})

describe('jsonForTerminal', () => {
  it('keeps the JSON value exact while no character a terminal acts on is left raw (property)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const line = jsonForTerminal(JSON.stringify({text: s}))
        expect(UNSAFE.test(line)).toBe(false)
        expect(JSON.parse(line)).toEqual({text: s})
      }),
      {numRuns: 2000},
    )
  })

  it('escapes DEL and C1, which JSON.stringify leaves raw', () => {
    expect(jsonForTerminal(JSON.stringify('\u007f\u009b'))).toBe('"\\u007f\\u009b"')
  })

  it('returns JSON without such characters as it is', () => {
    const line = JSON.stringify({text: 'plain 😀 \\n'})
    expect(jsonForTerminal(line)).toBe(line)
  })
})

import {describe, expect, it} from 'vitest'
import {decodeFrame, encodeFrame, isUuid, type Frame} from '../../src/protocol/frame.js'

describe('frame codec', () => {
  const roundTrips: Frame[] = [
    {verb: 'message', text: 'hello'},
    {verb: 'message', text: 'with spaces  and\nnewlines\tand ünïcödé ✓'},
    {verb: 'message', text: ' leading space'},
    {verb: 'ok', text: 'hello'},
    {verb: 'ok', text: 'multi\nline'},
    {verb: 'hello', hello: {id: '0b5c3c1e-6f0a-4c36-9a43-5d8e0f7f2a11', name: 'A', port: 8080, role: 'node'}},
    {verb: 'hello', hello: {}},
    {verb: 'welcome', welcome: {id: '0b5c3c1e-6f0a-4c36-9a43-5d8e0f7f2a11', name: 'B'}},
    {verb: 'cmd', n: 7, name: 'system-time'},
    {verb: 'cmd', n: 8, name: 'echo', arg: 'some arg with spaces'},
    {verb: 'res', n: 7, body: {ts: '2026-11-22T18:42:50.123Z'}},
    {verb: 'res', n: 9, body: {error: 'unknown command'}},
    {verb: 'error', text: 'empty message'},
  ]

  for (const frame of roundTrips) {
    it(`round-trips ${JSON.stringify(frame).slice(0, 60)}`, () => {
      const decoded = decodeFrame(encodeFrame(frame))
      expect(decoded).toEqual({ok: true, frame})
    })
  }

  it('encodes message and ok as verb, one space, payload', () => {
    expect(encodeFrame({verb: 'message', text: 'a b'})).toBe('message a b')
    expect(encodeFrame({verb: 'ok', text: 'a b'})).toBe('ok a b')
    expect(encodeFrame({verb: 'cmd', n: 7, name: 'system-time'})).toBe('cmd 7 system-time')
  })

  const rejects: Array<[string, RegExp]> = [
    ['message', /empty message/],
    ['message ', /empty message/],
    ['ok', /empty ok/],
    ['ok ', /empty ok/],
    ['', /empty frame/],
    ['hi there', /unknown verb "hi"/],
    ['MESSAGE x', /unknown verb/],
    ['hello {not json', /bad json/],
    ['hello [1,2]', /bad json/],
    ['hello {"port":"80"}', /port/],
    ['hello {"role":"admin"}', /role/],
    ['hello {"id":5}', /id/],
    ['welcome {}', /welcome/],
    ['cmd x system-time', /cmd needs a number/],
    ['cmd 7', /cmd needs a number/],
    ['res 7', /bad json/],
    ['res x {}', /res needs a number/],
    ['res 7 "str"', /bad json/],
  ]
  for (const [input, reason] of rejects) {
    it(`rejects ${JSON.stringify(input)} with a reason`, () => {
      const decoded = decodeFrame(input)
      expect(decoded.ok).toBe(false)
      if (!decoded.ok) {
        expect(decoded.error).toMatch(reason)
        expect(decoded.error).not.toContain('\n')
      }
    })
  }

  it('shortens a long unknown verb in the error', () => {
    const decoded = decodeFrame('x'.repeat(10_000))
    expect(decoded.ok).toBe(false)
    if (!decoded.ok) expect(decoded.error.length).toBeLessThan(200)
  })

  it('recognises UUIDs', () => {
    expect(isUuid('0b5c3c1e-6f0a-4c36-9a43-5d8e0f7f2a11')).toBe(true)
    expect(isUuid('0B5C3C1E-6F0A-4C36-9A43-5D8E0F7F2A11')).toBe(true)
    expect(isUuid('not-a-uuid')).toBe(false)
    expect(isUuid(42)).toBe(false)
  })
})

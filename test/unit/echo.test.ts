import {describe, expect, it} from 'vitest'
import {compareEcho, formatSummary} from '../../src/client/echo.js'

const type = 'text/plain; charset=utf-8'

describe('compareEcho', () => {
  it('accepts the same bytes with the same content type', () => {
    expect(compareEcho(Buffer.from('héllo\n'), type, {body: Buffer.from('héllo\n'), headers: {'content-type': type}})).toBeUndefined()
  })

  it('names the first differing byte', () => {
    expect(compareEcho(Buffer.from('hello'), type, {body: Buffer.from('help'), headers: {'content-type': type}})).toBe(
      'sent 5 bytes, got 4 back, first difference at byte 3',
    )
  })

  it('refuses an answer with another content type', () => {
    expect(compareEcho(Buffer.from('x'), type, {body: Buffer.from('x'), headers: {'content-type': 'application/json'}})).toMatch(/content-type/)
    expect(compareEcho(Buffer.from('x'), type, {body: Buffer.from('x'), headers: {}})).toMatch(/got none/)
  })
})

describe('formatSummary', () => {
  it('says how many passed and failed in one line', () => {
    const line = formatSummary({url: 'http://h/echo', count: 3, ok: 2, failed: 1, bytes: 2, ms: 1500, per_second: 2})
    expect(line).toBe('3 echoes of 2 bytes: 2 ok, 1 failed in 1.50s (2 req/s)')
  })
})

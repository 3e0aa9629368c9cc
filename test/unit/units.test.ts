import {describe, expect, it} from 'vitest'
import {formatDuration, parseDuration, parseDurationRange, parseSize} from '../../src/protocol/units.js'

describe('durations', () => {
  it('parses ms, s, m and a bare zero', () => {
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('3s')).toBe(3000)
    expect(parseDuration('1.5s')).toBe(1500)
    expect(parseDuration('1m')).toBe(60_000)
    expect(parseDuration('0')).toBe(0)
  })

  it('refuses garbage and bare non-zero numbers with a hint', () => {
    expect(() => parseDuration('2x')).toThrow(/invalid duration "2x".*250ms/)
    expect(() => parseDuration('')).toThrow(/invalid duration/)
    expect(() => parseDuration('-1s')).toThrow(/invalid duration/)
    expect(() => parseDuration('5')).toThrow(/add a unit/)
  })

  it('parses ranges, a bare lower bound taking the upper unit', () => {
    expect(parseDurationRange('0..1000ms')).toEqual({minMs: 0, maxMs: 1000})
    expect(parseDurationRange('1..2s')).toEqual({minMs: 1000, maxMs: 2000})
    expect(parseDurationRange('200ms')).toEqual({minMs: 200, maxMs: 200})
    expect(() => parseDurationRange('2s..1s')).toThrow(/MIN is larger/)
    expect(() => parseDurationRange('1..2..3')).toThrow(/invalid range/)
  })

  it('formats the way users type', () => {
    expect(formatDuration(250)).toBe('250ms')
    expect(formatDuration(3000)).toBe('3s')
    expect(formatDuration(60_000)).toBe('1m')
  })
})

describe('sizes', () => {
  it('parses bytes and binary/decimal units', () => {
    expect(parseSize('4096')).toBe(4096)
    expect(parseSize('512KiB')).toBe(512 * 1024)
    expect(parseSize('2MiB')).toBe(2 * 1024 * 1024)
    expect(parseSize('1kb')).toBe(1000)
  })

  it('refuses unknown units and zero', () => {
    expect(() => parseSize('2XB')).toThrow(/invalid size/)
    expect(() => parseSize('0')).toThrow(/at least 1 byte/)
    expect(() => parseSize('lots')).toThrow(/invalid size/)
  })
})

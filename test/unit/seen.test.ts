import {describe, expect, it} from 'vitest'
import {SeenCache} from '../../src/protocol/seen.js'

describe('SeenCache', () => {
  it('reports a key seen again within the TTL as a repeat', () => {
    const seen = new SeenCache(60_000)
    expect(seen.check('x', 0)).toBe(false)
    expect(seen.check('x', 59_000)).toBe(true)
    expect(seen.check('y', 59_000)).toBe(false)
  })

  it('forgets keys after the TTL and sweeps them away', () => {
    const seen = new SeenCache(1000)
    for (let i = 0; i < 100; i++) seen.check(`k${i}`, 0)
    expect(seen.check('k1', 1500)).toBe(false)
    seen.check('other', 5000)
    expect(seen.size).toBeLessThanOrEqual(2)
  })

  it('keeps a refreshed key alive past its first expiry', () => {
    const seen = new SeenCache(1000)
    seen.check('a', 0)
    seen.check('b', 100)
    seen.check('a', 900) // refreshed: now expires at 1900
    seen.check('c', 1200) // sweeps b's successor order correctly
    expect(seen.check('a', 1800)).toBe(true)
  })
})

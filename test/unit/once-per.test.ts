import {describe, expect, it} from 'vitest'
import {OncePer} from '../../src/node/once-per.js'

describe('OncePer', () => {
  it('lets one report per key through per interval', () => {
    const once = new OncePer(1000)
    expect(once.allow('a', 0)).toBe(true)
    expect(once.allow('a', 999)).toBe(false)
    expect(once.allow('b', 999)).toBe(true)
    expect(once.allow('a', 1000)).toBe(true)
    expect(once.allow('a', 1500)).toBe(false)
  })

  it('remembers at most maxKeys keys, forgetting expired ones to make room', () => {
    const once = new OncePer(1000, 2)
    expect(once.allow('a', 0)).toBe(true)
    expect(once.allow('b', 500)).toBe(true)
    // full of fresh keys: quiet rather than growing
    expect(once.allow('c', 600)).toBe(false)
    // 'a' has expired: it makes room for 'c'
    expect(once.allow('c', 1100)).toBe(true)
    expect(once.allow('b', 1200)).toBe(false)
  })
})

import {describe, expect, it} from 'vitest'
import {connectionId} from '../../src/node/conn-id.js'
import {isUuid} from '../../src/protocol/frame.js'

describe('connectionId', () => {
  it('is a version 4 UUID, lower-case, every time across several refills of its random pool', () => {
    const ids = Array.from({length: 2000}, () => connectionId())
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(isUuid(id)).toBe(true)
    }
    // 2000 ids span 8 pools of 256: none repeats, within a pool or across refills
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('draws its bits at random: each hex digit outside the fixed ones takes many values', () => {
    const ids = Array.from({length: 512}, () => connectionId().replaceAll('-', ''))
    for (let pos = 0; pos < 32; pos++) {
      if (pos === 12) continue // the version digit, always 4
      const seen = new Set(ids.map((id) => id[pos]))
      // the variant digit takes 4 values (8, 9, a, b), the others 16; 512 draws miss one rarely
      expect(seen.size, `digit ${pos}`).toBeGreaterThanOrEqual(pos === 16 ? 4 : 12)
    }
  })
})

import {describe, expect, it} from 'vitest'
import {coarseNowMs} from '../../src/node/clock.js'

describe('coarseNowMs', () => {
  it('is a recent Date.now() and moves on by itself, never ahead of the real clock', async () => {
    const before = Date.now()
    const first = coarseNowMs()
    expect(first).toBeGreaterThanOrEqual(before)
    expect(first).toBeLessThanOrEqual(Date.now())
    // no call refreshes it: its timer does
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (coarseNowMs() > first) {
          clearInterval(poll)
          resolve()
        }
      }, 10)
    })
    expect(coarseNowMs()).toBeLessThanOrEqual(Date.now())
  })
})

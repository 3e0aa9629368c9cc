/**
 * Waits until `done()` holds, re-checking whenever `subscribe`'s wake-up is
 * called, for at most `timeoutMs`; resolves with the last `done()`. Draining
 * (end of input: wait for every acknowledgement) is this, fed by events,
 * instead of a poll.
 */
export function settle(done: () => boolean, subscribe: (wake: () => void) => () => void, timeoutMs: number): Promise<boolean> {
  if (done()) return Promise.resolve(true)
  return new Promise((resolve) => {
    let unsubscribe = () => {}
    const finish = () => {
      clearTimeout(timer)
      unsubscribe()
      resolve(done())
    }
    const timer = setTimeout(finish, timeoutMs)
    unsubscribe = subscribe(() => {
      if (done()) finish()
    })
  })
}

/**
 * Reconnect delays, pure: the randomness comes in as a function so tests can
 * pin it. Shared by the node's peer links, `connect`, `send` and the load
 * tester's clients.
 */

export interface BackoffOptions {
  /** delay after the first failure, before jitter */
  minMs: number
  /** the delay never grows beyond this, before jitter */
  maxMs: number
  /**
   * `half`: uniform in the upper half of the exponential delay, so many
   * clients do not retry in lockstep but none retries sooner than half of it;
   * `full`: uniform in [0, delay] ("full jitter"), which spreads a crowd of
   * retries the widest and is what a load generator needs to avoid a retry storm.
   */
  jitter: 'half' | 'full'
}

/** The backoff of docs/protocol.md §4 for links: 100 ms doubling to 5 s, upper-half jitter. */
export const LINK_BACKOFF: BackoffOptions = {minMs: 100, maxMs: 5000, jitter: 'half'}

/**
 * The delay before retry number `attempt` (1 = the first retry): `minMs`
 * doubling per attempt, capped at `maxMs`, then jittered. Always a whole,
 * non-negative number of milliseconds.
 */
export function backoffMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(30, attempt - 1))
  const base = Math.min(opts.maxMs, opts.minMs * 2 ** exponent)
  const factor = opts.jitter === 'full' ? random() : 0.5 + random() * 0.5
  return Math.round(base * factor)
}

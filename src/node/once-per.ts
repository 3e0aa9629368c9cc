import {coarseNowMs} from './clock.js'
import type {RelayEvents} from './events.js'

/**
 * Lets one report through per key and interval, so that a flood of the same
 * trouble (a client retrying a failing TLS handshake, a full node refusing
 * connections) is one log line, not thousands. Bounded: it remembers at most
 * `maxKeys` keys; with that many fresh ones it stays quiet until they expire.
 */
export class OncePer {
  private readonly last = new Map<string, number>()

  constructor(
    readonly intervalMs: number,
    private readonly maxKeys = 1024,
  ) {}

  /** True when nothing was let through for `key` within the interval (and records this one). */
  allow(key: string, nowMs = Date.now()): boolean {
    const at = this.last.get(key)
    if (at !== undefined && nowMs - at < this.intervalMs) return false
    if (at === undefined && this.last.size >= this.maxKeys) {
      for (const [k, t] of this.last) if (nowMs - t >= this.intervalMs) this.last.delete(k)
      if (this.last.size >= this.maxKeys) return false
    }
    this.last.set(key, nowMs)
    return true
  }
}

/**
 * Lets at most `perSecond` calls a second through: what a node reports of a
 * high-rate event stream to listeners that show only a few lines a second
 * (see RelayEvents in events.ts). A window starts at the first call after
 * the last one ended. Its clock is {@link coarseNowMs} (a window may be a
 * tick longer or shorter): it is asked once per event of the stream.
 */
export class PerSecond {
  private left = 0
  private windowStartMs = -Infinity

  constructor(private readonly perSecond: number) {}

  allow(nowMs = coarseNowMs()): boolean {
    if (nowMs - this.windowStartMs >= 1000) {
      this.windowStartMs = nowMs
      this.left = this.perSecond
    }
    if (this.left === 0) return false
    this.left--
    return true
  }

  /** Whether one event of the stream is reported to listeners that need `need` of it: every one, a sampled few a second, or none. */
  admits(need: RelayEvents): boolean {
    return need === 'every' || (need === 'sampled' && this.allow())
  }
}

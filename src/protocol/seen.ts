/**
 * Remembers which messages a final receiver has already seen, for a limited
 * time, so that an at-least-once resend is acknowledged again but shown once.
 * Pure: the caller passes the clock.
 */
export class SeenCache {
  private readonly expiresAt = new Map<string, number>()
  private lastSweepMs = 0

  /** @param ttlMs how long an entry counts as seen */
  constructor(private readonly ttlMs: number = 60_000) {}

  /** Records `key` as seen at `nowMs`; returns true when it was already seen within the TTL. */
  check(key: string, nowMs: number): boolean {
    this.sweep(nowMs)
    const until = this.expiresAt.get(key)
    const repeat = until !== undefined && until > nowMs
    // delete first: Map.set on an existing key keeps its old place in the order
    this.expiresAt.delete(key)
    this.expiresAt.set(key, nowMs + this.ttlMs)
    return repeat
  }

  /**
   * Takes back an entry an earlier process recorded, valid until
   * `expiresAtMs`. Call in order of expiry and before any {@link check}: the
   * sweep relies on entries being kept sorted by expiry.
   */
  restore(key: string, expiresAtMs: number, nowMs: number): void {
    if (expiresAtMs <= nowMs) return
    this.expiresAt.delete(key)
    this.expiresAt.set(key, expiresAtMs)
  }

  get size(): number {
    return this.expiresAt.size
  }

  /** Drops expired entries, at most once per tenth of the TTL so the hot path stays O(1) amortised. */
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < this.ttlMs / 10) return
    this.lastSweepMs = nowMs
    // Map iterates in insertion order and check() re-inserts, so entries are sorted by expiry.
    for (const [key, until] of this.expiresAt) {
      if (until > nowMs) break
      this.expiresAt.delete(key)
    }
  }
}

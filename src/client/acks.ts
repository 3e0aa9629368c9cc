/**
 * Acknowledgements a final receiver owes, each sent now or after its ack
 * delay. Owns the timers of the delayed ones, so whoever holds it can count
 * what is still owed and cancel it all on close. Shared by the client link
 * and a node receiving from its peers.
 */
export class OwedAcks {
  private readonly timers = new Set<NodeJS.Timeout>()

  /** Acknowledgements waiting out their delay. */
  get size(): number {
    return this.timers.size
  }

  /** Runs `send` at once when `delayMs` is 0 or less, otherwise after `delayMs`. */
  schedule(delayMs: number, send: () => void): void {
    if (delayMs <= 0) {
      send()
      return
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      send()
    }, delayMs)
    this.timers.add(timer)
  }

  /** Cancels every acknowledgement still waiting. */
  clear(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}

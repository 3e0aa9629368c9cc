import {EventEmitter} from 'node:events'
import {SEEN_TTL_MS} from '../protocol/defaults.js'
import {SeenCache} from '../protocol/seen.js'

export interface DeliveryOptions {
  /** delay before answering `ok Y`; a function draws one per message */
  ackDelayMs: number | (() => number)
  /** a message seen again within this window is a repeat */
  seenTtlMs?: number
}

/**
 * Being a final receiver (docs/protocol.md §4): a message is shown once and
 * acknowledged after the ack delay; a resend seen within the TTL is a repeat,
 * acknowledged again at once (its delay was served the first time; waiting
 * again could outlast the sender's timeout forever). Owns the timers of the
 * acknowledgements waiting out their delay, so its owner can count what is
 * still owed and cancel it all on close. Shared by a node receiving from its
 * peers' links and by a link (`connect`, a node's outbound link) receiving
 * from the node it dialled. Emits `settled` whenever nothing is owed any more.
 */
export class Delivery extends EventEmitter<{settled: []}> {
  private readonly seen: SeenCache
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(private readonly opts: DeliveryOptions) {
    super()
    this.seen = new SeenCache(opts.seenTtlMs ?? SEEN_TTL_MS)
  }

  /** Acknowledgements waiting out their delay. */
  get owed(): number {
    return this.timers.size
  }

  /**
   * `text` arrived from the sender known as `sender` (its identity across
   * reconnects). Schedules `ack` (now, or after the delay) and returns whether
   * this is a repeat the caller should not show again.
   */
  receive(sender: string, text: string, ack: () => void): boolean {
    const repeat = this.seen.check(`${sender}\n${text}`, Date.now())
    const delay = this.opts.ackDelayMs
    const delayMs = repeat ? 0 : typeof delay === 'function' ? delay() : delay
    if (delayMs <= 0) {
      ack()
      return repeat
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      ack()
      if (this.timers.size === 0) this.emit('settled')
    }, delayMs)
    this.timers.add(timer)
    return repeat
  }

  /** Cancels every acknowledgement still waiting (its connection closed: the sender resends). */
  clear(): void {
    for (const t of this.timers) clearTimeout(t)
    const had = this.timers.size > 0
    this.timers.clear()
    if (had) this.emit('settled')
  }
}

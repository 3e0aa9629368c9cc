import {EventEmitter} from 'node:events'
import {SEEN_TTL_MS} from '../protocol/defaults.js'
import {SeenCache} from '../protocol/seen.js'
import type {SeenLog} from './outbox.js'

export interface DeliveryOptions {
  /** delay before answering `ok Y`; a function draws one per message */
  ackDelayMs: number | (() => number)
  /** a message seen again within this window is a repeat */
  seenTtlMs?: number
  /** where what was shown is remembered beyond this process (the state directory); memory only when unset */
  seenLog?: SeenLog
}

/**
 * Being a final receiver (DESIGN §2): a message is shown once and
 * acknowledged after the ack delay; a resend seen within the TTL is a repeat,
 * acknowledged again at once (its delay was served the first time; waiting
 * again could outlast the sender's timeout forever). Owns the timers of the
 * acknowledgements waiting out their delay, so its owner can count what is
 * still owed and cancel it all on close. Shared by a node receiving from its
 * peers' links and by a link (`connect`, a node's outbound link) receiving
 * from the node it dialled. Emits `settled` whenever nothing is owed any more.
 *
 * With a durable {@link SeenLog} a restarted receiver still knows what its
 * last run showed. The order is show, record, acknowledge:
 * - shown before it is recorded, so a crash can never leave a message
 *   recorded as seen that was not shown (that would be a loss: its resend
 *   would be taken for a repeat). The log commits on a later turn of the
 *   event loop than the renderers write (both batch per `setImmediate`, the
 *   renderer's scheduled first by `show`);
 * - acknowledged only once the record is durable, so the sender keeps
 *   resending until the receiver will recognise the resend.
 * What remains possible: a kill between showing and the end of that commit
 * (one group commit, well under a millisecond to a few ms) shows the message
 * again after the restart. Nothing is lost.
 */
export class Delivery extends EventEmitter<{settled: []}> {
  private readonly seen: SeenCache
  private readonly ttlMs: number
  /** acknowledgements not sent yet: waiting for their record or their delay */
  private readonly waiting = new Set<{timer?: NodeJS.Timeout; cancelled: boolean}>()

  constructor(private readonly opts: DeliveryOptions) {
    super()
    this.ttlMs = opts.seenTtlMs ?? SEEN_TTL_MS
    this.seen = new SeenCache(this.ttlMs)
    const now = Date.now()
    if (opts.seenLog) for (const [key, expiresAtMs] of opts.seenLog.load(now)) this.seen.restore(key, expiresAtMs, now)
  }

  /** Acknowledgements not sent yet (waiting out their delay, or their record). */
  get owed(): number {
    return this.waiting.size
  }

  /**
   * `text` arrived from the sender known as `sender` (its identity across
   * reconnects and restarts). Calls `show(repeat)` at once (a repeat is
   * reported but should not be shown again), then schedules `ack`: at once
   * for a repeat, otherwise once the sighting is recorded and the delay has
   * passed.
   */
  receive(sender: string, text: string, show: (repeat: boolean) => void, ack: () => void): void {
    const key = `${sender}\n${text}`
    const now = Date.now()
    const repeat = this.seen.check(key, now)
    show(repeat)
    if (repeat) {
      ack()
      return
    }
    const delay = this.opts.ackDelayMs
    const delayMs = typeof delay === 'function' ? delay() : delay
    const log = this.opts.seenLog
    if (!log && delayMs <= 0) {
      ack()
      return
    }
    const entry: {timer?: NodeJS.Timeout; cancelled: boolean} = {cancelled: false}
    this.waiting.add(entry)
    const send = () => {
      if (entry.cancelled) return
      this.waiting.delete(entry)
      ack()
      if (this.waiting.size === 0) this.emit('settled')
    }
    const afterDelay = () => {
      if (delayMs <= 0) return send()
      entry.timer = setTimeout(send, delayMs)
    }
    if (log) log.record(key, now + this.ttlMs, afterDelay)
    else afterDelay()
  }

  /** Cancels every acknowledgement not sent yet (its connection closed: the sender resends). */
  clear(): void {
    for (const e of this.waiting) {
      e.cancelled = true
      clearTimeout(e.timer)
    }
    const had = this.waiting.size > 0
    this.waiting.clear()
    if (had) this.emit('settled')
  }
}

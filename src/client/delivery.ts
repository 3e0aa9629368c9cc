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
 * Being a final receiver (docs/protocol.md §4): a message is shown once and
 * acknowledged after the ack delay; a resend seen within the TTL is a repeat,
 * acknowledged again at once (its delay was served the first time; waiting
 * again could outlast the sender's timeout forever). Owns the timers of the
 * acknowledgements waiting out their delay, so its owner can count what is
 * still owed and cancel it all on close. Shared by a node receiving from its
 * peers' links and by a link (`connect`, a node's outbound link) receiving
 * from the node it dialled. Emits `settled` whenever nothing is owed any more.
 *
 * The order is show, then acknowledge, and with a durable {@link SeenLog}
 * show, then record:
 * - an `ok` leaves at the earliest on the next turn of the event loop, after
 *   the renderers wrote what `show` gave them (they batch per `setImmediate`,
 *   scheduled first): an acknowledged message has been shown, so a kill can
 *   never lose one;
 * - the record is committed after that writing too (the store's group commit
 *   is a later `setImmediate`), so a crash can never leave a message recorded
 *   as seen that was not shown (its resend would be taken for a repeat);
 * - the `ok` does not wait for the record: a crash before the record is
 *   durable means a resend shown twice whether or not the `ok` waited (if it
 *   waited it was surely not sent; if not it may have arrived, and then
 *   nothing is resent at all).
 * What remains possible: a kill landing between showing and the end of that
 * commit (one group commit: well under a millisecond to a few ms) shows the
 * message again after the restart, when its `ok` did not get out. Nothing is
 * lost. Entries live as long as the seen window (a minute).
 */
export class Delivery extends EventEmitter<{settled: []}> {
  private readonly seen: SeenCache
  private readonly ttlMs: number
  /** acknowledgements waiting out their delay */
  private readonly timers = new Set<NodeJS.Timeout>()
  /** acknowledgements due on the next turn of the event loop */
  private due: Array<() => void> = []
  private dueImmediate: NodeJS.Immediate | undefined

  constructor(private readonly opts: DeliveryOptions) {
    super()
    this.ttlMs = opts.seenTtlMs ?? SEEN_TTL_MS
    this.seen = new SeenCache(this.ttlMs)
    const now = Date.now()
    if (opts.seenLog) for (const [key, expiresAtMs] of opts.seenLog.load(now)) this.seen.restore(key, expiresAtMs, now)
  }

  /** Acknowledgements not sent yet. */
  get owed(): number {
    return this.timers.size + this.due.length
  }

  /**
   * `text` arrived from the sender known as `sender` (its identity across
   * reconnects and restarts). Calls `show(repeat)` at once (a repeat is
   * reported but should not be shown again), records a first sighting in the
   * seen log, and schedules `ack`: on the next turn for a repeat, after the
   * ack delay otherwise.
   */
  receive(sender: string, text: string, show: (repeat: boolean) => void, ack: () => void): void {
    const key = `${sender}\n${text}`
    const now = Date.now()
    const repeat = this.seen.check(key, now)
    show(repeat)
    if (!repeat) this.opts.seenLog?.record(key, now + this.ttlMs)
    const delay = this.opts.ackDelayMs
    const delayMs = repeat ? 0 : typeof delay === 'function' ? delay() : delay
    if (delayMs <= 0) {
      this.due.push(ack)
      this.dueImmediate ??= setImmediate(() => this.sendDue())
      return
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      ack()
      this.emitIfSettled()
    }, delayMs)
    this.timers.add(timer)
  }

  /** Cancels every acknowledgement not sent yet (its connection closed: the sender resends). */
  clear(): void {
    for (const t of this.timers) clearTimeout(t)
    if (this.dueImmediate !== undefined) clearImmediate(this.dueImmediate)
    this.dueImmediate = undefined
    const had = this.owed > 0
    this.timers.clear()
    this.due = []
    if (had) this.emit('settled')
  }

  private sendDue(): void {
    this.dueImmediate = undefined
    const due = this.due
    this.due = []
    for (const ack of due) ack()
    this.emitIfSettled()
  }

  private emitIfSettled(): void {
    if (this.owed === 0) this.emit('settled')
  }
}

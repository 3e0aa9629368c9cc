/**
 * The outbox seam (docs/architecture.md, seam 2): where a sender's own
 * messages are kept until every peer that must acknowledge them has. A
 * {@link OutboundLink} records each message here before it goes on the wire and
 * tells the outbox about each `ok`; at start it takes what the outbox still
 * owes to its URL. Two implementations: {@link MemoryOutbox} (`--ephemeral`,
 * and whatever does not ask for more) and the durable one in `src/outbox/`.
 *
 * A message is its text, as on the wire (`ok X` names X by its text): the
 * same text sent again while it is still owed is one record, owed by the
 * union of the peers it was sent to, in the place of its first sending.
 * Peers are named by the normalized URL their link dials.
 */
export interface Outbox {
  /** where the records are kept (a directory), undefined when only in memory */
  readonly location: string | undefined
  /** messages some peer still owes an acknowledgement for (not yet durable ones included) */
  readonly size: number
  /** true while the store cannot be written (disk full...): some of `size` may exist only in memory */
  readonly failing: boolean
  /**
   * Records `text` as owed by `peer` and calls `stored` once that record is
   * durable (at once in memory), in the order of the calls. When the store
   * cannot be written the outbox reports that itself and still calls
   * `stored`: the message goes out from memory rather than not at all.
   */
  add(text: string, peer: string, stored: () => void): void
  /** `peer` acknowledged `text`; once no peer owes it the record goes */
  ack(text: string, peer: string): void
  /** what `peer` still owes, oldest first (a link's queue at its start) */
  owedBy(peer: string): string[]
  /** resolves once every record and acknowledgement so far is durable */
  flushed(): Promise<void>
}

/**
 * What a final receiver remembers of the messages it has shown, so that a
 * resend is shown once (see `Delivery`). The durable one lets a restarted
 * receiver recognise the resends of what its last run showed.
 */
export interface SeenLog {
  /** the entries that are still valid at `nowMs`: key and expiry */
  load(nowMs: number): Iterable<[key: string, expiresAtMs: number]>
  /** remembers `key` until `expiresAtMs` (written on a later turn of the event loop) */
  record(key: string, expiresAtMs: number): void
  /** resolves once every record so far is durable */
  flushed(): Promise<void>
}

/** The outbox of `--ephemeral`: today's behaviour, what is owed lives as long as the process. */
export class MemoryOutbox implements Outbox {
  readonly location = undefined
  readonly failing = false
  /** text -> the peers that still owe its ok; Map order is the order of first sending */
  private readonly owed = new Map<string, Set<string>>()

  get size(): number {
    return this.owed.size
  }

  add(text: string, peer: string, stored: () => void): void {
    const peers = this.owed.get(text)
    if (peers) peers.add(peer)
    else this.owed.set(text, new Set([peer]))
    stored()
  }

  ack(text: string, peer: string): void {
    const peers = this.owed.get(text)
    if (!peers?.delete(peer)) return
    if (peers.size === 0) this.owed.delete(text)
  }

  owedBy(peer: string): string[] {
    const out: string[] = []
    for (const [text, peers] of this.owed) if (peers.has(peer)) out.push(text)
    return out
  }

  flushed(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * The outbox's name for the peer at `url`: the URL as `URL` spells it (host
 * lower-cased, default port dropped), without a `?token=` (a secret is no
 * name, and it must not be written to the state directory).
 */
export function outboxKey(url: string): string {
  try {
    const u = new URL(url)
    u.searchParams.delete('token')
    return u.href
  } catch {
    return url
  }
}

/** The one line a sender says at start when its outbox holds messages of an earlier run. */
export function resendingLine(count: number, from = 'the last run'): string {
  return `resending ${count} unacknowledged message${count === 1 ? '' : 's'} from ${from}`
}

/**
 * The one line a sender says at exit when messages stay in its durable
 * outbox; `failing`: the store could not be written lately, so it cannot
 * promise that all of them are on disk.
 */
export function keptLine(count: number, location: string, failing = false): string {
  const messages = `${count} unacknowledged message${count === 1 ? '' : 's'}`
  if (failing) return `${messages}: the outbox (${location}) could not be written lately (see the error above), so those not yet on disk are lost now; the others will be resent on the next start`
  return `${messages} stay${count === 1 ? 's' : ''} in the outbox (${location}) and will be resent on the next start`
}

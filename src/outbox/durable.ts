import type {Outbox, SeenLog} from '../client/outbox.js'
import type {StateStore} from './store.js'

interface Row {
  seq: number
  /** the peers that still owe this message's ok */
  peers: Set<string>
}

/**
 * The durable {@link Outbox}: every record is kept in memory (so the hot path
 * reads nothing) and in the state store, written through the store's group
 * commit. `stored` callbacks run after the commit (with fsync) that holds the
 * record, so a message goes on the wire only once it would survive a kill -9
 * or a power cut. Removals ride along without an fsync of their own: one lost
 * to a power cut means a message resent at the next start, which receivers
 * show once (within their seen window).
 */
export class DurableOutbox implements Outbox {
  readonly location: string
  private readonly rows = new Map<string, Row>()
  private nextSeq = 1
  private readonly insertMessage
  private readonly insertOwed
  private readonly deleteOwed
  private readonly deleteMessage

  constructor(private readonly store: StateStore) {
    this.location = store.dir
    const db = store.db
    this.insertMessage = db.prepare('INSERT INTO outbox (seq, text, created_ms) VALUES (?, ?, ?)')
    this.insertOwed = db.prepare('INSERT OR IGNORE INTO owed (seq, peer) VALUES (?, ?)')
    this.deleteOwed = db.prepare('DELETE FROM owed WHERE seq = ? AND peer = ?')
    this.deleteMessage = db.prepare('DELETE FROM outbox WHERE seq = ?')
    this.load()
  }

  /** Reads the last run's records, oldest first (a link's queue keeps their order), and tidies what a failed batch may have left. */
  private load(): void {
    const db = this.store.db
    const owed = db.prepare('SELECT o.seq AS seq, o.text AS text, w.peer AS peer FROM outbox o JOIN owed w ON w.seq = o.seq ORDER BY o.seq').all() as Array<{seq: number; text: string; peer: string}>
    /** rows of a text seen before: only left by a removal that was not committed; folded into the first */
    const folded: Array<{from: number; into: number; peer: string}> = []
    for (const {seq, text, peer} of owed) {
      const row = this.rows.get(text)
      if (!row) this.rows.set(text, {seq, peers: new Set([peer])})
      else {
        row.peers.add(peer)
        if (row.seq !== seq) folded.push({from: seq, into: row.seq, peer})
      }
    }
    const max = db.prepare('SELECT max(seq) AS seq FROM outbox').get() as {seq: number | null}
    this.nextSeq = (max.seq ?? 0) + 1
    db.transaction(() => {
      for (const {from, into, peer} of folded) {
        this.insertOwed.run(into, peer)
        this.deleteOwed.run(from, peer)
      }
      // a message no peer owes any more is done; an owed row without its message is nothing
      db.exec('DELETE FROM outbox WHERE seq NOT IN (SELECT seq FROM owed); DELETE FROM owed WHERE seq NOT IN (SELECT seq FROM outbox)')
    })()
  }

  get size(): number {
    return this.rows.size
  }

  get failing(): boolean {
    return this.store.writer.failing
  }

  add(text: string, peer: string, stored: () => void): void {
    const row = this.rows.get(text)
    if (row?.peers.has(peer)) {
      // already owed (and durable, or about to be): keep the callbacks in order
      this.store.writer.queue(undefined, stored)
      return
    }
    if (row) {
      row.peers.add(peer)
      this.store.writer.queue(() => this.insertOwed.run(row.seq, peer), stored, true)
      return
    }
    const seq = this.nextSeq++
    this.rows.set(text, {seq, peers: new Set([peer])})
    const now = Date.now()
    this.store.writer.queue(
      () => {
        this.insertMessage.run(seq, text, now)
        this.insertOwed.run(seq, peer)
      },
      stored,
      true,
    )
  }

  ack(text: string, peer: string): void {
    const row = this.rows.get(text)
    if (!row?.peers.delete(peer)) return
    const {seq} = row
    if (row.peers.size > 0) {
      this.store.writer.queue(() => this.deleteOwed.run(seq, peer))
      return
    }
    this.rows.delete(text)
    this.store.writer.queue(() => {
      this.deleteOwed.run(seq, peer)
      this.deleteMessage.run(seq)
    })
  }

  owedBy(peer: string): string[] {
    const out: string[] = []
    for (const [text, row] of this.rows) if (row.peers.has(peer)) out.push(text)
    return out
  }

  flushed(): Promise<void> {
    return this.store.writer.flushed()
  }
}

/** How often expired sightings are deleted, at most. */
const SWEEP_EVERY_MS = 10_000

/**
 * The durable {@link SeenLog}: sightings with their expiry, so a restarted
 * receiver recognises resends of what its last run showed within the seen
 * window. Bounded by that window: expired rows are deleted at open and then
 * at most every 10 s, in a batch that is being committed anyway.
 *
 * Its writes do not ask for an fsync of their own ({@link Writer}): a
 * process crash (kill -9, OOM) cannot lose them, they are in the kernel's
 * page cache once committed; a power cut can lose the last ones, and the
 * price of that is a resend shown twice, never a message lost. The next
 * batch that holds an outbox record fsyncs them anyway.
 */
export class DurableSeenLog implements SeenLog {
  private readonly upsert
  private readonly sweep
  private lastSweepMs = 0

  constructor(private readonly store: StateStore) {
    // a key recorded twice (seen again after its entry expired) is two rows; load keeps the later expiry
    this.upsert = store.db.prepare('INSERT OR IGNORE INTO seen (expires_ms, key) VALUES (?, ?)')
    this.sweep = store.db.prepare('DELETE FROM seen WHERE expires_ms <= ?')
  }

  load(nowMs: number): Array<[string, number]> {
    this.sweep.run(nowMs)
    this.lastSweepMs = nowMs
    const rows = this.store.db.prepare('SELECT key, expires_ms FROM seen ORDER BY expires_ms').all() as Array<{key: string; expires_ms: number}>
    return rows.map((r) => [r.key, r.expires_ms])
  }

  record(key: string, expiresAtMs: number): void {
    const now = Date.now()
    if (now - this.lastSweepMs >= SWEEP_EVERY_MS) {
      this.lastSweepMs = now
      this.store.writer.queue(() => this.sweep.run(now))
    }
    this.store.writer.queue(() => this.upsert.run(expiresAtMs, key))
  }

  flushed(): Promise<void> {
    return this.store.writer.flushed()
  }
}

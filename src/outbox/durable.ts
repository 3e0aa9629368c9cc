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
 * commit. `stored` callbacks run after the commit that holds the record, so a
 * message goes on the wire only once it would survive a kill -9 or a power cut.
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
    // the last run's records, oldest first: a link's queue keeps their order
    const owed = db.prepare('SELECT o.seq AS seq, o.text AS text, w.peer AS peer FROM outbox o JOIN owed w ON w.seq = o.seq ORDER BY o.seq').all() as Array<{seq: number; text: string; peer: string}>
    for (const {seq, text, peer} of owed) {
      const row = this.rows.get(text)
      if (row) row.peers.add(peer)
      else this.rows.set(text, {seq, peers: new Set([peer])})
    }
    const max = db.prepare('SELECT max(seq) AS seq FROM outbox').get() as {seq: number | null}
    this.nextSeq = (max.seq ?? 0) + 1
    // leftovers of a batch that could not be committed whole are tidied here:
    // a message no peer owes any more is done, an owed row without its message is nothing
    db.exec('DELETE FROM outbox WHERE seq NOT IN (SELECT seq FROM owed); DELETE FROM owed WHERE seq NOT IN (SELECT seq FROM outbox)')
    // OR REPLACE: a row of the same text can only be left from a failed delete, and the new one supersedes it
    this.insertMessage = db.prepare('INSERT OR REPLACE INTO outbox (seq, text, created_ms) VALUES (?, ?, ?)')
    this.insertOwed = db.prepare('INSERT OR IGNORE INTO owed (seq, peer) VALUES (?, ?)')
    this.deleteOwed = db.prepare('DELETE FROM owed WHERE seq = ? AND peer = ?')
    this.deleteMessage = db.prepare('DELETE FROM outbox WHERE seq = ?')
  }

  get size(): number {
    return this.rows.size
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
      this.store.writer.queue(() => this.insertOwed.run(row.seq, peer), stored)
      return
    }
    const seq = this.nextSeq++
    this.rows.set(text, {seq, peers: new Set([peer])})
    const now = Date.now()
    this.store.writer.queue(() => {
      this.insertMessage.run(seq, text, now)
      this.insertOwed.run(seq, peer)
    }, stored)
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
 */
export class DurableSeenLog implements SeenLog {
  private readonly upsert
  private readonly sweep
  private lastSweepMs = 0

  constructor(private readonly store: StateStore) {
    this.upsert = store.db.prepare('INSERT OR REPLACE INTO seen (key, expires_ms) VALUES (?, ?)')
    this.sweep = store.db.prepare('DELETE FROM seen WHERE expires_ms <= ?')
  }

  load(nowMs: number): Array<[string, number]> {
    this.sweep.run(nowMs)
    this.lastSweepMs = nowMs
    const rows = this.store.db.prepare('SELECT key, expires_ms FROM seen ORDER BY expires_ms').all() as Array<{key: string; expires_ms: number}>
    return rows.map((r) => [r.key, r.expires_ms])
  }

  record(key: string, expiresAtMs: number, done: () => void): void {
    const now = Date.now()
    if (now - this.lastSweepMs >= SWEEP_EVERY_MS) {
      this.lastSweepMs = now
      this.store.writer.queue(() => this.sweep.run(now))
    }
    this.store.writer.queue(() => this.upsert.run(key, expiresAtMs), done)
  }

  flushed(): Promise<void> {
    return this.store.writer.flushed()
  }
}

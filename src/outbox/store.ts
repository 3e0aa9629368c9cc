import {randomUUID} from 'node:crypto'
import {EventEmitter} from 'node:events'
import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import {isUuid} from '../protocol/frame.js'
import {PeerlinkError} from '../protocol/errors.js'

/**
 * The embedded store of a state directory: one SQLite database (better-sqlite3).
 *
 * Why SQLite and not LMDB (measured, see bench/README.md "Choosing the store"):
 * - a truncated LMDB data file kills the process with SIGBUS on the first read
 *   (it is memory-mapped): no way to say one line. SQLite answers
 *   SQLITE_CORRUPT, which becomes one line;
 * - the lock comes free: in `locking_mode=EXCLUSIVE` the database holds an
 *   OS file lock for as long as the process lives. The kernel drops it when
 *   the process dies, kill -9 included, so a stale lock can never block a
 *   restart, and there is no lock file and no pid to guess about;
 * - per record it costs less CPU on the main thread (a batch of 1000 inserts
 *   and their fsync in ~5 ms, against ~15 ms for queueing 1000 LMDB puts), and
 *   the node is CPU-bound.
 * Its cost: better-sqlite3 builds from source at `npm ci` (no prebuilt binary
 * is reachable here; python3, make and g++ are on the machine), and a commit
 * blocks the event loop for its fsync (measured ~0.1 ms here; on a slow disk
 * it is the disk's fsync time once per batch, not per message).
 *
 * Durability: WAL journal with `synchronous=FULL`, so a commit is on disk
 * (fsync of the WAL) when it returns. Writes are batched: everything recorded
 * in one turn of the event loop is one transaction, one fsync, committed on
 * the next turn ({@link Writer}); a burst of 10 000 lines read from a pipe
 * is a handful of commits, not 10 000.
 */

/** The database file in a node's or connect's state directory. */
export const STORE_FILE = 'peerlink.db'
/** The sender's identity, a UUID: written once, after the database exists (so an emptied database is noticed). */
export const ID_FILE = 'id'
/** Informational: the pid of the process that holds the directory, for the refusal line. */
const PID_FILE = 'pid'
/** The schema this code writes; a newer one is refused rather than misread. */
const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  text TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS owed (
  seq INTEGER NOT NULL,
  peer TEXT NOT NULL,
  PRIMARY KEY (seq, peer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen (
  key TEXT PRIMARY KEY,
  expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_expiry ON seen (expires_ms);
`

export interface StoreOptions {
  /** the state directory (created with mode 0700 when missing) */
  dir: string
  /** the database file's name in `dir` */
  file?: string
  /** keep a sender identity in `dir/id` (start, connect; not send, whose files come and go) */
  identity?: boolean
}

export interface StoreEvents {
  /** a write failed (disk full, I/O error): one line, once per run of failures */
  problem: [msg: string]
  /** writes work again after a problem */
  recovered: [msg: string]
}

/**
 * An open, locked state store. Owns the database handle and its writer;
 * {@link DurableOutbox} and {@link DurableSeenLog} (outbox/durable.ts) keep
 * their records through it.
 */
export class StateStore extends EventEmitter<StoreEvents> {
  readonly dir: string
  readonly file: string
  /** the sender's identity (a UUID), kept across restarts; a new one per process without `identity` */
  readonly id: string
  readonly db: Database.Database
  readonly writer: Writer

  private constructor(
    dir: string,
    file: string,
    db: Database.Database,
    id: string,
    private readonly identity: boolean,
  ) {
    super()
    this.dir = dir
    this.file = file
    this.db = db
    this.id = id
    this.writer = new Writer(db, (err, failing) => {
      if (failing) this.emit('problem', `state ${this.file}: ${describeSqliteError(err)}: new messages are kept in memory only until it can be written`)
      else this.emit('recovered', `state ${this.file}: writing again`)
    })
  }

  /**
   * Opens (creating when missing) the store of `opts.dir` and locks it for
   * this process. Every way it can fail is a one-line PeerlinkError:
   * STATE_IN_USE (another live process holds it), STATE_DAMAGED (the files
   * are not a sound store: nothing is touched, nothing deleted),
   * STATE_UNAVAILABLE (cannot create or open it).
   */
  static open(opts: StoreOptions): StateStore {
    const dir = path.resolve(opts.dir)
    const file = path.join(dir, opts.file ?? STORE_FILE)
    makeDir(dir)
    const idFile = path.join(dir, ID_FILE)
    // after a kill the database may still be all in its WAL, so both count
    if (opts.identity && existsSync(idFile) && sizeOf(file) + sizeOf(`${file}-wal`) === 0) {
      throw new PeerlinkError('STATE_DAMAGED', `state ${dir}: ${path.basename(file)} is missing or empty, but ${ID_FILE} says this directory was used before: refusing to start over silently; move ${dir} away to start afresh`)
    }
    let db: Database.Database
    try {
      db = new Database(file, {timeout: 0})
    } catch (err) {
      throw new PeerlinkError('STATE_UNAVAILABLE', `state ${dir}: cannot open ${path.basename(file)}: ${describeSqliteError(err)}`)
    }
    try {
      // EXCLUSIVE before the first access: the lock is taken by the first
      // statement and held until close or death. BEGIN EXCLUSIVE takes the
      // write lock now, so a second process is refused here, not later.
      db.pragma('locking_mode = EXCLUSIVE')
      db.pragma('journal_mode = WAL')
      db.exec('BEGIN EXCLUSIVE; COMMIT')
      db.pragma('synchronous = FULL')
      const check = db.pragma('quick_check', {simple: true})
      if (check !== 'ok') throw new PeerlinkError('STATE_DAMAGED', damagedLine(file, String(check).split('\n')[0]))
      const version = Number(db.pragma('user_version', {simple: true}))
      if (version > SCHEMA_VERSION) {
        throw new PeerlinkError('STATE_DAMAGED', `state ${file} was written by a newer peerlink (schema ${version}); use that version, or move ${dir} away`)
      }
      db.exec(SCHEMA)
      db.pragma(`user_version = ${SCHEMA_VERSION}`)
    } catch (err) {
      db.close()
      if (err instanceof PeerlinkError) throw err
      const code = (err as {code?: string}).code ?? ''
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        const pid = readPid(dir)
        throw new PeerlinkError(
          'STATE_IN_USE',
          `state ${dir} is in use by another peerlink process${pid ? ` (pid ${pid})` : ''}: stop it, or use another --name or --state DIR (or --ephemeral)`,
        )
      }
      if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') throw new PeerlinkError('STATE_DAMAGED', damagedLine(file, describeSqliteError(err)))
      throw new PeerlinkError('STATE_UNAVAILABLE', `state ${dir}: cannot use ${path.basename(file)}: ${describeSqliteError(err)}`)
    }
    let id: string
    try {
      id = opts.identity ? readOrCreateId(idFile) : randomUUID()
      if (opts.identity) writeFileSync(path.join(dir, PID_FILE), `${process.pid}\n`, {mode: 0o600})
    } catch (err) {
      db.close()
      throw err
    }
    return new StateStore(dir, file, db, id, opts.identity ?? false)
  }

  /** Commits what is queued and closes the database (releasing the lock). */
  close(): void {
    if (!this.db.open) return
    this.writer.flushNow()
    if (this.identity) {
      try {
        unlinkSync(path.join(this.dir, PID_FILE))
      } catch {
        // not there
      }
    }
    try {
      this.db.close()
    } catch {
      // closing releases the lock either way; a failed final checkpoint leaves the WAL, which the next open replays
    }
  }
}

/**
 * Group commit: operations queued during one turn of the event loop run in
 * one transaction (one fsync) on the next, and their callbacks run in the
 * order they were queued. better-sqlite3 is synchronous, so while a commit
 * runs nothing else does; what arrives meanwhile is the next batch.
 */
export class Writer {
  /** transactions committed, for the benchmark and the batching test */
  commits = 0
  private ops: Array<() => void> = []
  private callbacks: Array<() => void> = []
  private scheduled: NodeJS.Immediate | undefined
  private failing = false
  private readonly idle = new Set<() => void>()

  constructor(
    private readonly db: Database.Database,
    private readonly onTrouble: (err: unknown, failing: boolean) => void,
  ) {}

  /** Operations waiting for their commit. */
  get queued(): number {
    return this.ops.length + this.callbacks.length
  }

  /** Queues `op` (a statement run) for the next commit; `done` runs after it (also when the commit failed: the caller goes on from memory). */
  queue(op: (() => void) | undefined, done?: () => void): void {
    if (op) this.ops.push(op)
    if (done) this.callbacks.push(done)
    // setImmediate, not a microtask: the renderers write the turn's output
    // first (they batch per setImmediate too, scheduled earlier), see Delivery
    this.scheduled ??= setImmediate(() => this.flushNow())
  }

  /** Resolves once everything queued so far is committed. */
  flushed(): Promise<void> {
    if (this.scheduled === undefined) return Promise.resolve()
    return new Promise((resolve) => this.idle.add(resolve))
  }

  /** Commits what is queued now. */
  flushNow(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
    this.scheduled = undefined
    const ops = this.ops
    const callbacks = this.callbacks
    this.ops = []
    this.callbacks = []
    if (ops.length > 0 && this.db.open) {
      try {
        this.db.transaction(() => {
          for (const op of ops) op()
        })()
        this.commits++
        if (this.failing) {
          this.failing = false
          this.onTrouble(undefined, false)
        }
      } catch (err) {
        if (!this.failing) {
          this.failing = true
          this.onTrouble(err, true)
        }
      }
    }
    for (const cb of callbacks) cb()
    const idle = [...this.idle]
    this.idle.clear()
    for (const wake of idle) wake()
  }
}

function makeDir(dir: string): void {
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, {recursive: true, mode: 0o700})
      // mkdir's mode passes through the umask; the state is private, whatever the umask
      chmodSync(dir, 0o700)
    } else if (!statSync(dir).isDirectory()) {
      throw Object.assign(new Error('not a directory'), {code: 'ENOTDIR'})
    }
  } catch (err) {
    throw new PeerlinkError('STATE_UNAVAILABLE', `cannot use the state directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

function readPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dir, PID_FILE), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** The id in `file`, or a new one written there (atomically: a temp file renamed into place). */
function readOrCreateId(file: string): string {
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim()
    if (!isUuid(text)) throw new PeerlinkError('STATE_DAMAGED', `state ${file} does not hold an id (a UUID): move ${path.dirname(file)} away to start afresh`)
    return text.toLowerCase()
  }
  const id = randomUUID()
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, `${id}\n`, {mode: 0o600})
  renameSync(temp, file)
  return id
}

function damagedLine(file: string, why: string): string {
  return `state ${file} is damaged (${why}); nothing was changed: move ${path.dirname(file)} away to start afresh (its unacknowledged messages are then lost), or repair it with sqlite3's .recover`
}

/** One line for an SQLite or file-system error: its code and message. */
export function describeSqliteError(err: unknown): string {
  const e = err as {code?: string; message?: string}
  const msg = (e.message ?? String(err)).split('\n')[0]
  return e.code ? `${e.code}: ${msg}` : msg
}

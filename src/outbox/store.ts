import {randomUUID} from 'node:crypto'
import {EventEmitter} from 'node:events'
import {chmodSync, closeSync, existsSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
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
 * is reachable here; python3, make and g++ are on the machine), and it is
 * synchronous: with `synchronous=FULL` each commit would block the event
 * loop for its fsync (0.1 ms on a quiet machine here, 2-3 ms while others
 * used the disk), so the fsync runs on libuv's thread pool instead, see
 * {@link Writer}.
 *
 * Durability: WAL journal; a batch holding outbox records is fsynced before
 * its messages go on the wire. Writes are batched: everything recorded in
 * one turn of the event loop is one transaction committed on the next turn,
 * and one fsync (off the main thread) covers every batch committed while the
 * previous one ran ({@link Writer}); a burst of 10 000 lines read from a pipe
 * is a handful of commits and fsyncs, not 10 000.
 */

/** The database file in a node's or connect's state directory. */
export const STORE_FILE = 'peerlink.db'
/** The sender's identity, a UUID: written once, after the database exists (so an emptied database is noticed). */
export const ID_FILE = 'id'
/** Informational: the pid of the process that holds the directory, for the refusal line. */
const PID_FILE = 'pid'
/** After a failed write (disk full...), how long until the writer tries again by itself. */
const WRITE_RETRY_MS = 1000
/** The schema this code writes; a newer one is refused rather than misread. */
const SCHEMA_VERSION = 1

/**
 * Every table is keyed by something that grows (a sequence number, an
 * expiry time) and has no other index: rows are added at the right edge of
 * the B-tree and removed at the left, so a commit rewrites a page or two per
 * table, not pages all over the file. Lookups by text or key are never made
 * in SQL: the whole (small) state is read once at open and kept in memory.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  text TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS owed (
  seq INTEGER NOT NULL,
  peer TEXT NOT NULL,
  PRIMARY KEY (seq, peer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen (
  expires_ms INTEGER NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (expires_ms, key)
) WITHOUT ROWID;
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
    this.writer = new Writer(db, `${file}-wal`, (err, failing) => {
      if (failing) this.emit('problem', `state ${this.file}: ${describeSqliteError(err)}: messages go out from memory and are written when it can be (every second it tries again)`)
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
    if (opts.identity && existsSync(idFile) && !hasContent(file)) {
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
    this.writer.flushNow(true)
    this.writer.close()
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
 * one transaction on the next, and their callbacks run in the order they
 * were queued. better-sqlite3 is synchronous, so the transaction itself runs
 * on the main thread (a few microseconds per statement); what arrives
 * meanwhile is the next batch.
 *
 * The fsync does not: the connection runs with `synchronous=NORMAL` (a
 * commit is written to the WAL, which is safe from a process crash: it is in
 * the kernel's page cache), and a batch holding an operation queued with
 * `sync` (an outbox record, which goes on the wire once on disk) is made
 * durable by an `fdatasync` of the WAL file on libuv's thread pool; its
 * callbacks run when that returns. That is the fsync SQLite's
 * `synchronous=FULL` would do after each commit, without blocking the node's
 * event loop for it, and batches keep forming while it runs: one fsync is in
 * flight at a time and covers every batch committed before it started.
 * Checkpoints are SQLite's own business (with NORMAL it syncs the WAL before
 * and the database after each one).
 */
export class Writer {
  /** transactions committed, for the benchmark and the batching test */
  commits = 0
  /** fsyncs of the WAL done for durable batches */
  syncs = 0
  private ops: Array<() => void> = []
  private callbacks: Array<() => void> = []
  private wantSync = false
  private scheduled: NodeJS.Immediate | undefined
  /** callbacks of committed batches waiting for the fsync in flight, and those waiting for the next one */
  private syncing: Array<() => void> | undefined
  private nextSync: Array<() => void> | undefined
  private walFd: number | undefined
  private retryTimer: NodeJS.Timeout | undefined
  /** true while writes fail: what was queued since is kept and tried again */
  failing = false
  private readonly idle = new Set<() => void>()

  constructor(
    private readonly db: Database.Database,
    private readonly walFile: string,
    private readonly onTrouble: (err: unknown, failing: boolean) => void,
  ) {
    // the fsync is ours (startSync); NORMAL still syncs around checkpoints
    db.pragma('synchronous = NORMAL')
  }

  /**
   * Queues `op` (a statement run) for the next commit; `done` runs after it
   * (also when the commit failed: the caller goes on from memory). `sync`:
   * the commit must be on disk (fsync) before `done` runs.
   */
  queue(op: (() => void) | undefined, done?: () => void, sync = false): void {
    if (op) this.ops.push(op)
    if (sync) this.wantSync = true
    if (done) this.callbacks.push(done)
    // setImmediate, not a microtask: the renderers write the turn's output
    // first (they batch per setImmediate too, scheduled earlier), see Delivery
    this.scheduled ??= setImmediate(() => this.flushNow())
  }

  /** Resolves once everything queued so far is committed and, where asked, on disk. */
  flushed(): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idle.add(resolve))
  }

  /** Commits what is queued now; with `wait` (at close) also makes it durable before returning. */
  flushNow(wait = false): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
    this.scheduled = undefined
    const ops = this.ops
    const callbacks = this.callbacks
    const sync = this.wantSync
    this.ops = []
    this.callbacks = []
    this.wantSync = false
    let committed = false
    if (ops.length > 0 && this.db.open) {
      try {
        this.db.transaction(() => {
          for (const op of ops) op()
        })()
        this.commits++
        committed = true
        this.troubleOver()
      } catch (err) {
        this.trouble(err)
        // the transaction was rolled back whole: try these again first, with what comes next
        this.ops = [...ops, ...this.ops]
        if (!wait) this.retryTimer ??= setTimeout(() => this.retry(), WRITE_RETRY_MS).unref()
      }
    }
    if (wait) {
      // closing: make everything durable now, in order
      const pending = [...(this.syncing ?? []), ...(this.nextSync ?? []), ...callbacks]
      this.syncing = this.nextSync = undefined
      if (committed || pending.length > 0) this.syncNow()
      for (const cb of pending) cb()
    } else if (committed && sync) {
      ;(this.nextSync ??= []).push(...callbacks)
      this.startSync()
    } else if (this.syncing || this.nextSync) {
      // keep the order: these wait behind the durable batches queued before them
      ;(this.nextSync ??= []).push(...callbacks)
    } else {
      for (const cb of callbacks) cb()
    }
    this.wakeIfIdle()
  }

  private retry(): void {
    this.retryTimer = undefined
    if (this.ops.length > 0) this.flushNow()
  }

  private startSync(): void {
    if (this.syncing || !this.nextSync) return
    const fd = this.openWal()
    const batch = this.nextSync
    this.nextSync = undefined
    this.syncing = batch
    const done = (err: NodeJS.ErrnoException | null) => {
      if (this.syncing !== batch) return // closed meanwhile: flushNow(true) ran them
      this.syncing = undefined
      if (err) this.trouble(err)
      else this.syncs++
      for (const cb of batch) cb()
      this.startSync()
      this.wakeIfIdle()
    }
    if (fd === undefined) return done(null)
    fdatasync(fd, done)
  }

  private syncNow(): void {
    const fd = this.openWal()
    if (fd === undefined) return
    try {
      fdatasyncSync(fd)
      this.syncs++
    } catch (err) {
      this.trouble(err)
    }
  }

  /** The WAL file, opened once (it lives as long as the exclusive connection); undefined when there is none yet. */
  private openWal(): number | undefined {
    if (this.walFd !== undefined) return this.walFd
    try {
      this.walFd = openSync(this.walFile, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.trouble(err)
    }
    return this.walFd
  }

  /** Closes the WAL file handle (after the last {@link flushNow}). */
  close(): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    if (this.walFd !== undefined) closeSync(this.walFd)
    this.walFd = undefined
  }

  private isIdle(): boolean {
    return this.scheduled === undefined && this.syncing === undefined && this.nextSync === undefined
  }

  private wakeIfIdle(): void {
    if (!this.isIdle() || this.idle.size === 0) return
    const idle = [...this.idle]
    this.idle.clear()
    for (const wake of idle) wake()
  }

  private trouble(err: unknown): void {
    if (this.failing) return
    this.failing = true
    this.onTrouble(err, true)
  }

  private troubleOver(): void {
    if (!this.failing) return
    this.failing = false
    this.onTrouble(undefined, false)
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

/** Whether a store file (with its write-ahead log) holds anything: an empty one was never written. */
export function hasContent(file: string): boolean {
  return sizeOf(file) + sizeOf(`${file}-wal`) > 0
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

import {randomUUID} from 'node:crypto'
import {readdirSync, unlinkSync} from 'node:fs'
import path from 'node:path'
import {MemoryOutbox, outboxKey, type Outbox, type SeenLog} from '../client/outbox.js'
import {PeerlinkError} from '../protocol/errors.js'
import {DurableOutbox, DurableSeenLog} from './durable.js'
import {defaultStateDir, type StateKind} from './state-dir.js'
import {hasContent, STORE_FILE, StateStore} from './store.js'

export interface StateChoice {
  /** `--state DIR`; the default location of `kind` when unset */
  dir?: string
  /** `--ephemeral`: nothing on disk */
  ephemeral: boolean
  env?: NodeJS.ProcessEnv
}

/** What a sender runs with: its identity, its outbox, what it has shown. */
export interface SenderState {
  /** the identity to propose in every hello (and the registry) */
  readonly id: string
  readonly outbox: Outbox
  /** undefined with --ephemeral: the receiver's seen cache lives in memory */
  readonly seenLog: SeenLog | undefined
  /** the directory in use, undefined with --ephemeral */
  readonly dir: string | undefined
  /** `fn` hears of every write problem (disk full...) and of the recovery, as one line each */
  onProblem(fn: (msg: string, recovered: boolean) => void): void
  /** commits what is queued and releases the directory */
  close(): void
}

/**
 * Opens the state of a node (`start NAME`) or of `connect --name NAME`: the
 * directory from `--state` or the default, locked for this process, or an
 * in-memory state with a fresh identity for `--ephemeral`.
 */
export function openSenderState(kind: Exclude<StateKind, 'send'>, name: string, choice: StateChoice): SenderState {
  if (choice.ephemeral) return ephemeralState()
  const dir = path.resolve(choice.dir ?? defaultStateDir(kind, name, choice.env))
  const store = StateStore.open({dir, identity: true})
  return storeState(store, new DurableOutbox(store), new DurableSeenLog(store))
}

/** What `send` runs with: its outbox (its own message and those it took over) and how many it took over. */
export interface SendState extends Omit<SenderState, 'seenLog'> {
  /** messages of earlier `send`s to the same URL that died unacknowledged, now in this one's outbox */
  readonly adopted: number
  /** one line per leftover file that could not be read (left as it is) */
  readonly problems: string[]
}

/**
 * The state of one `send`. Several `send`s may run at once, so each has a
 * file of its own in the directory (`@send/<uuid>.db`, locked while it
 * runs). At start it takes over what earlier `send`s to the same URL left
 * unacknowledged: every file there that is not locked belongs to a process
 * that is gone. Their messages are written into this one's file first and
 * then removed from theirs (a crash in between sends them twice, and loses
 * none). At close an empty file is deleted; a file that still holds
 * messages stays for the next `send` to that URL.
 */
export function openSendState(url: string, choice: StateChoice): SendState {
  if (choice.ephemeral) return {...ephemeralState(), adopted: 0, problems: []}
  const dir = path.resolve(choice.dir ?? defaultStateDir('send', '', choice.env))
  const ownFile = `${randomUUID()}.db`
  const store = StateStore.open({dir, file: ownFile})
  const outbox = new DurableOutbox(store)
  const peer = outboxKey(url)
  let adopted = 0
  const problems: string[] = []
  for (const file of leftoverFiles(dir, ownFile)) {
    let other: StateStore
    try {
      other = StateStore.open({dir, file})
    } catch (err) {
      if (err instanceof PeerlinkError && err.code === 'STATE_IN_USE') continue // a send that is still running
      problems.push(err instanceof Error ? err.message : String(err))
      continue
    }
    const theirs = new DurableOutbox(other)
    const texts = theirs.owedBy(peer)
    for (const text of texts) outbox.add(text, peer, () => {})
    // on disk here before they leave the other file: a crash or power cut in between sends them twice, and loses none
    store.writer.flushNow(true)
    for (const text of texts) theirs.ack(text, peer)
    adopted += texts.length
    const empty = theirs.size === 0
    other.close()
    if (empty) removeStoreFiles(path.join(dir, file))
  }
  const state = storeState(store, outbox, undefined)
  return {
    ...state,
    adopted,
    problems,
    close() {
      const empty = outbox.size === 0
      state.close()
      if (empty) removeStoreFiles(store.file)
    },
  }
}

/** The other `send` files of `dir`: those with content (an empty one is a send between creating and locking its file). */
function leftoverFiles(dir: string, own: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names.filter((n) => n.endsWith('.db') && n !== own && n !== STORE_FILE && hasContent(path.join(dir, n))).sort()
}

function removeStoreFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      unlinkSync(f)
    } catch {
      // not there
    }
  }
}

function ephemeralState(): SenderState {
  return {id: randomUUID(), outbox: new MemoryOutbox(), seenLog: undefined, dir: undefined, onProblem() {}, close() {}}
}

function storeState(store: StateStore, outbox: Outbox, seenLog: SeenLog | undefined): SenderState {
  return {
    id: store.id,
    outbox,
    seenLog,
    dir: store.dir,
    onProblem(fn) {
      store.on('problem', (msg) => fn(msg, false))
      store.on('recovered', (msg) => fn(msg, true))
    },
    close: () => store.close(),
  }
}

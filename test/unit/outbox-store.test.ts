import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {MemoryOutbox, outboxKey, type Outbox} from '../../src/client/outbox.js'
import {DurableOutbox, DurableSeenLog} from '../../src/outbox/durable.js'
import {defaultStateDir, dirName, stateHome} from '../../src/outbox/state-dir.js'
import {StateStore} from '../../src/outbox/store.js'
import {PeerlinkError} from '../../src/protocol/errors.js'

const dirs: string[] = []
const stores: StateStore[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'peerlink-store-'))
  dirs.push(d)
  return path.join(d, 'state')
}

function open(dir: string): StateStore {
  const s = StateStore.open({dir, identity: true})
  stores.push(s)
  return s
}

function reopen(store: StateStore): StateStore {
  store.close()
  stores.splice(stores.indexOf(store), 1)
  return open(store.dir)
}

const A = 'ws://127.0.0.1:1/ws'
const B = 'ws://127.0.0.1:2/ws'

describe.each([
  ['in memory', () => new MemoryOutbox() as Outbox],
  ['on disk', () => new DurableOutbox(open(tempDir())) as Outbox],
])('an outbox %s', (_name, make) => {
  it('keeps a message until every peer it was sent to acknowledged it, in the order of first sending', async () => {
    const outbox = make()
    const stored: string[] = []
    outbox.add('one', A, () => stored.push('one@A'))
    outbox.add('one', B, () => stored.push('one@B'))
    outbox.add('two', A, () => stored.push('two@A'))
    await outbox.flushed()
    expect(stored).toEqual(['one@A', 'one@B', 'two@A'])
    expect(outbox.owedBy(A)).toEqual(['one', 'two'])
    outbox.ack('one', A)
    expect(outbox.size).toBe(2)
    expect(outbox.owedBy(A)).toEqual(['two'])
    expect(outbox.owedBy(B)).toEqual(['one'])
    outbox.ack('one', B)
    outbox.ack('one', B) // a second ok changes nothing
    expect(outbox.size).toBe(1)
  })
})

describe('the durable outbox', () => {
  it('finds after a reopen exactly what was not acknowledged, per peer, in order', async () => {
    let store = open(tempDir())
    const outbox = new DurableOutbox(store)
    for (const text of ['a', 'b', 'c', 'd']) {
      outbox.add(text, A, () => {})
      outbox.add(text, B, () => {})
    }
    outbox.ack('b', A)
    outbox.ack('b', B)
    outbox.ack('c', A)
    await outbox.flushed()
    store = reopen(store)
    const again = new DurableOutbox(store)
    expect(again.size).toBe(3)
    expect(again.owedBy(A)).toEqual(['a', 'd'])
    expect(again.owedBy(B)).toEqual(['a', 'c', 'd'])
    // and new messages come after them
    again.add('e', A, () => {})
    expect(again.owedBy(A)).toEqual(['a', 'd', 'e'])
  })

  it('commits a burst of 10 000 messages in one transaction and one fsync, not 10 000', async () => {
    const store = open(tempDir())
    const outbox = new DurableOutbox(store)
    const before = {commits: store.writer.commits, syncs: store.writer.syncs}
    let stored = 0
    for (let i = 0; i < 10_000; i++) outbox.add(`burst ${i}`, A, () => stored++)
    expect(stored).toBe(0) // nothing goes on the wire before it is on disk
    await outbox.flushed()
    expect(stored).toBe(10_000)
    expect(store.writer.commits - before.commits).toBe(1)
    expect(store.writer.syncs - before.syncs).toBe(1)
    expect(new DurableOutbox(reopen(store)).size).toBe(10_000)
  })

  it('keeps its id across reopenings', () => {
    const store = open(tempDir())
    const id = store.id
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(reopen(store).id).toBe(id)
  })

  it('refuses a second opening of a directory that is open, in one line', () => {
    const store = open(tempDir())
    let error: unknown
    try {
      open(store.dir)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(PeerlinkError)
    expect((error as PeerlinkError).code).toBe('STATE_IN_USE')
    expect((error as Error).message).toMatch(new RegExp(`^state .* is in use by another peerlink process \\(pid ${process.pid}\\)`))
  })
})

describe('the durable seen log', () => {
  it('gives back what is still within its window, oldest first, and forgets what expired', async () => {
    const store = open(tempDir())
    const log = new DurableSeenLog(store)
    const now = Date.now()
    log.record('old', now - 1)
    log.record('later', now + 60_000)
    log.record('soon', now + 30_000)
    await log.flushed()
    const again = new DurableSeenLog(reopen(store))
    expect([...again.load(now)]).toEqual([
      ['soon', now + 30_000],
      ['later', now + 60_000],
    ])
  })
})

describe('the outbox name of a peer', () => {
  it('is its URL spelled one way, without a ?token= (no secret is written to the state directory)', () => {
    expect(outboxKey('ws://127.0.0.1:8081/ws')).toBe('ws://127.0.0.1:8081/ws')
    expect(outboxKey('WS://LOCALHOST:80/ws')).toBe('ws://localhost/ws')
    expect(outboxKey('wss://h:9443/ws?token=secret&x=1')).toBe('wss://h:9443/ws?x=1')
  })
})

describe('state directories', () => {
  it('live under $XDG_STATE_HOME/peerlink, or ~/.local/state/peerlink when it is unset or relative', () => {
    expect(stateHome({XDG_STATE_HOME: '/x'})).toBe('/x/peerlink')
    expect(stateHome({XDG_STATE_HOME: 'relative'})).toBe(path.join(os.homedir(), '.local', 'state', 'peerlink'))
    expect(stateHome({})).toBe(path.join(os.homedir(), '.local', 'state', 'peerlink'))
    expect(defaultStateDir('node', 'A', {XDG_STATE_HOME: '/x'})).toBe('/x/peerlink/A')
    expect(defaultStateDir('connect', 'A', {XDG_STATE_HOME: '/x'})).toBe('/x/peerlink/@connect/A')
    expect(defaultStateDir('send', '', {XDG_STATE_HOME: '/x'})).toBe('/x/peerlink/@send')
  })

  it('spell every name as one safe directory name that cannot leave the state home or meet a client command', () => {
    expect(dirName('node-1.b_c')).toBe('node-1.b_c')
    expect(dirName('../etc')).toBe('%2E.%2Fetc')
    expect(dirName('a/b')).toBe('a%2Fb')
    expect(dirName('@connect')).toBe('%40connect')
    expect(dirName('.hidden')).toBe('%2Ehidden')
    expect(dirName('ü')).toBe('%C3%BC')
    expect(dirName('')).toBe('%')
    expect(dirName('100%')).toBe('100%25')
  })
})

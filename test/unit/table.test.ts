import {afterEach, describe, expect, it, vi} from 'vitest'
import {ClientTable, PRUNE_INTERVAL_MS, type LiveConnection, type Role} from '../../src/registry/table.js'

const LINUS = {ip: '192.1.1.1', port: 1234, name: 'linus'}

type Live = {-readonly [K in keyof LiveConnection]: LiveConnection[K]}

/** A table on a clock the test moves by hand, with live connections the test opens and closes (what a node's server holds). */
function tableAt(startMs = 1_000_000, ttlMs = 5000) {
  const clock = {ms: startMs}
  const conns = new Map<string, Live>()
  const table = new ClientTable({ttlMs, now: () => clock.ms, live: {get: (id) => conns.get(id), all: () => conns.values(), get size() {
    return conns.size
  }}})
  const open = (id: string, fields: {ip: string; port: number; name: string; role: Role}, lastSeenMs = 0): Live => {
    const conn = {id, ...fields, lastSeenMs}
    conns.set(id, conn)
    return conn
  }
  /** the connection closes: the server forgets it and the node tells the table */
  const close = (conn: Live) => {
    conns.delete(conn.id)
    table.connectionLeft(conn.id, conn.lastSeenMs)
  }
  return {table, clock, open, close, conns}
}

describe('client table', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lists a registration in the name-server shape, with role client by default', () => {
    const {table} = tableAt(Date.parse('2026-11-22T18:42:50.123Z'))
    const id = table.register(LINUS)
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(table.toJson()).toEqual({[id]: {ip: '192.1.1.1', port: 1234, connected: '2026-11-22T18:42:50.123Z', name: 'linus', role: 'client'}})
  })

  it('registers under the id asked for, and an entry of that id (a live link, an earlier registration) becomes the registration: one entry', () => {
    const {table, open} = tableAt()
    const id = '3b241101-e2bb-4255-8caf-4136c566a962'
    open(id, {ip: '127.0.0.1', port: 9001, name: 'n1', role: 'node'})
    expect(table.register({...LINUS, name: 'n1', role: 'node', url: 'ws://127.0.0.1:9001/ws'}, id.toUpperCase())).toBe(id)
    expect(Object.keys(table.toJson())).toEqual([id])
    expect(table.get(id)).toMatchObject({registered: true, url: 'ws://127.0.0.1:9001/ws', live: {lastSeenMs: 0}})
    // the same node registering again after a restart keeps its one entry
    expect(table.register({...LINUS, name: 'n1', role: 'node', url: 'ws://127.0.0.1:9002/ws'}, id)).toBe(id)
    expect(table.size).toBe(1)
    expect(table.get(id)?.url).toBe('ws://127.0.0.1:9002/ws')
  })

  it('keeps role node and the url of a node registration', () => {
    const {table} = tableAt()
    const id = table.register({...LINUS, role: 'node', url: 'ws://192.1.1.1:1234/ws'})
    expect(table.toJson()[id]).toMatchObject({role: 'node', url: 'ws://192.1.1.1:1234/ws'})
  })

  it('a heartbeat refreshes connected; an unknown id is refused', () => {
    const {table, clock} = tableAt(0)
    const id = table.register(LINUS)
    clock.ms = 4000
    expect(table.touch(id)).toBe(true)
    expect(table.toJson()[id].connected).toBe(new Date(4000).toISOString())
    expect(table.touch('no-such-id')).toBe(false)
  })

  it('prunes entries not seen within the TTL and keeps fresher ones', () => {
    const {table, clock} = tableAt(0)
    const old = table.register(LINUS)
    clock.ms = 3000
    const fresh = table.register({...LINUS, name: 'ada'})
    clock.ms = 5001
    expect(table.prune().map((e) => e.id)).toEqual([old])
    expect(Object.keys(table.toJson())).toEqual([fresh])
  })

  it('never prunes a live connection, and shows its last frame or pong as connected', () => {
    const {table, clock, open} = tableAt(0)
    const conn = open('c1', {ip: '127.0.0.1', port: 5555, name: 'wscat', role: 'client'})
    clock.ms = 60_000
    expect(table.prune()).toEqual([])
    conn.lastSeenMs = 59_000
    expect(table.toJson().c1).toEqual({ip: '127.0.0.1', port: 5555, connected: new Date(59_000).toISOString(), name: 'wscat', role: 'client'})
  })

  it('a live connection leaves at once when it closes', () => {
    const {table, open, close} = tableAt()
    const conn = open('c1', {ip: '127.0.0.1', port: 5555, name: 'wscat', role: 'client'})
    expect(table.size).toBe(1)
    close(conn)
    expect(table.size).toBe(0)
    expect(table.get('c1')).toBeUndefined()
  })

  it('follows a hello that changes the id of a live connection', () => {
    const {table, open, conns} = tableAt()
    open('server-given', {ip: '127.0.0.1', port: 5555, name: '127.0.0.1:5555', role: 'client'})
    // the server settles the id the hello proposed; the node tells the table the old one is gone
    conns.delete('server-given')
    open('proposed', {ip: '127.0.0.1', port: 9001, name: 'B', role: 'node'})
    table.connectionLeft('server-given', 0)
    expect(Object.keys(table.toJson())).toEqual(['proposed'])
    expect(table.get('proposed')).toMatchObject({name: 'B', role: 'node', port: 9001})
  })

  it('a registered client that connects becomes live, and falls back to its heartbeats when it disconnects', () => {
    const {table, clock, open, close} = tableAt(0)
    const id = table.register(LINUS)
    const conn = open(id, {ip: '127.0.0.1', port: 5555, name: 'x', role: 'client'})
    expect(table.get(id)).toMatchObject({name: 'linus', live: conn})
    expect(table.size).toBe(1)
    clock.ms = 10_000
    expect(table.prune()).toEqual([])
    conn.lastSeenMs = 9000
    close(conn)
    expect(table.get(id)?.live).toBeUndefined()
    expect(table.toJson()[id].connected).toBe(new Date(9000).toISOString())
    clock.ms = 14_001
    expect(table.prune().map((e) => e.id)).toEqual([id])
  })

  it('finds an entry by id or by name, and refuses an ambiguous name', () => {
    const {table} = tableAt()
    const a = table.register(LINUS)
    table.register(LINUS)
    const b = table.register({...LINUS, name: 'ada'})
    expect(table.find(a)).toEqual({entry: table.get(a)})
    expect(table.find('ada')).toEqual({entry: table.get(b)})
    expect(table.find('linus')).toMatchObject({error: expect.stringContaining('2 clients are named "linus"')})
    expect(table.find('nobody')).toMatchObject({error: expect.stringContaining('no client')})
  })

  it('prunes every 5 s on its own timer, and stops when closed', () => {
    vi.useFakeTimers({now: 0})
    const table = new ClientTable({ttlMs: 5000})
    const dropped: string[] = []
    table.startPruning((entries) => dropped.push(...entries.map((e) => e.id)))
    const id = table.register(LINUS)
    vi.advanceTimersByTime(PRUNE_INTERVAL_MS)
    expect(table.size).toBe(1) // exactly 5 s old: not older than the TTL yet
    vi.advanceTimersByTime(PRUNE_INTERVAL_MS)
    expect(dropped).toEqual([id])
    expect(table.size).toBe(0)
    table.close()
    table.register(LINUS)
    vi.advanceTimersByTime(60_000)
    expect(table.size).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('prunes every TTL when the TTL is shorter than 5 s', () => {
    vi.useFakeTimers({now: 0})
    const table = new ClientTable({ttlMs: 1000})
    table.startPruning()
    table.register(LINUS)
    vi.advanceTimersByTime(2000)
    expect(table.size).toBe(0)
    table.close()
  })
})

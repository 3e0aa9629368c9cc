import {randomUUID} from 'node:crypto'

/** Entries not seen for longer than this are pruned (`start --registry-ttl` changes it). */
export const REGISTRY_TTL_MS_DEFAULT = 5000
/** A shorter TTL would prune entries between any realistic heartbeats. */
export const REGISTRY_TTL_MS_MIN = 100
/** How often the table is pruned (or every TTL, when the TTL is shorter). */
export const PRUNE_INTERVAL_MS = 5000

export type Role = 'node' | 'client'

/** What a client or node says about itself when it registers (POST /client). */
export interface Registration {
  ip: string
  port: number
  name: string
  role?: Role
  /** where a node can be dialed (ws:// or wss://) */
  url?: string
}

/** Something that knows when a live connection was last heard from (a frame or a pong). */
export interface LiveSource {
  readonly lastSeenMs: number
}

/** What the table shows of a live connection, read from it when asked. */
export interface LiveConnection extends LiveSource {
  readonly id: string
  readonly ip: string
  /** where its sender listens when its hello said so, else its remote port */
  readonly port: number
  readonly name: string
  readonly role: Role
}

/**
 * The live WebSocket connections, by id: the node's server, which has them
 * anyway. The table keeps no row of its own per connection (a node may hold
 * 100 000 of them): it reads them from here when asked.
 */
export interface LiveDirectory {
  get(id: string): LiveConnection | undefined
  all(): Iterable<LiveConnection>
  readonly size: number
}

/** No live connections (a table that only holds registrations). */
const NO_CONNECTIONS: LiveDirectory = {get: () => undefined, all: () => [], size: 0}

/** One row of the client table. */
export interface ClientEntry {
  readonly id: string
  ip: string
  port: number
  name: string
  role: Role
  url?: string
  /** when a heartbeat (registration, PATCH) last refreshed the entry */
  seenMs: number
  /** set while a WebSocket connection with this id is open: such an entry is never pruned */
  live?: LiveConnection
  /** registered over HTTP: when its connection closes the entry stays until the TTL prunes it */
  registered: boolean
}

/** The JSON shape of one entry in `GET /clients` (docs/protocol.md §5). */
export interface EntryJson {
  ip: string
  port: number
  connected: string
  name: string
  role: Role
  url?: string
}

export interface TableOptions {
  ttlMs?: number
  /** the live connections, listed beside the registrations (none unless given) */
  live?: LiveDirectory
  /** the clock; injected so tests can use plain values */
  now?: () => number
}

/**
 * The node's client table: clients and nodes registered over HTTP (the name
 * server) and every live WebSocket connection. It keeps the registrations;
 * the live connections it reads from its {@link LiveDirectory}, so that a
 * connection costs it nothing. A connection whose id names a registration
 * makes that entry live. Pure bookkeeping, clock injected; the owner calls
 * {@link prune} (or {@link startPruning}).
 */
export class ClientTable {
  readonly ttlMs: number
  private readonly now: () => number
  private readonly live: LiveDirectory
  /** the registrations (POST /client), by id */
  private readonly registered = new Map<string, ClientEntry>()
  private pruneTimer: NodeJS.Timeout | undefined

  constructor(opts: TableOptions = {}) {
    this.ttlMs = opts.ttlMs ?? REGISTRY_TTL_MS_DEFAULT
    this.now = opts.now ?? Date.now
    this.live = opts.live ?? NO_CONNECTIONS
  }

  /** Entries: registrations, and live connections that are not one. */
  get size(): number {
    let both = 0
    for (const id of this.registered.keys()) if (this.live.get(id)) both++
    return this.registered.size + this.live.size - both
  }

  get(id: string): ClientEntry | undefined {
    const entry = this.registered.get(id)
    const conn = this.live.get(id)
    // a registration with its connection open: the registration's fields, live
    if (entry) return conn ? {...entry, live: conn} : entry
    return conn && liveEntry(conn)
  }

  /** Every entry: the registrations first, then the live connections that are not one. */
  entries(): ClientEntry[] {
    const out: ClientEntry[] = []
    for (const id of this.registered.keys()) out.push(this.get(id) as ClientEntry)
    for (const conn of this.live.all()) if (!this.registered.has(conn.id)) out.push(liveEntry(conn))
    return out
  }

  /** Entries whose name is exactly `name` (names are not unique). */
  byName(name: string): ClientEntry[] {
    return this.entries().filter((e) => e.name === name)
  }

  /**
   * Finds the entry a person means by an id or a name. Among several entries
   * of one name a single live one wins; otherwise the answer is an error line.
   */
  find(idOrName: string): {entry: ClientEntry} | {error: string} {
    const byId = this.get(idOrName) ?? this.get(idOrName.toLowerCase())
    if (byId) return {entry: byId}
    const named = this.byName(idOrName)
    if (named.length === 1) return {entry: named[0]}
    const live = named.filter((e) => e.live)
    if (live.length === 1) return {entry: live[0]}
    if (named.length === 0) return {error: `no client with id or name "${idOrName}"`}
    return {error: `${named.length} clients are named "${idOrName}": use an id (${named.map((e) => e.id).join(', ')})`}
  }

  /**
   * Registers a client over HTTP; returns its id: `wanted` when given (a
   * node registers under its own id, the one its links propose in their
   * hello), else a new one. An entry that already has that id becomes this
   * registration: the same node's earlier registration (it restarted within
   * the TTL) or its own link's live connection (the registry is also its
   * peer), so the node is listed once.
   */
  register(reg: Registration, wanted?: string): string {
    const id = wanted?.toLowerCase() ?? randomUUID()
    const existing = this.registered.get(id)
    if (existing) {
      Object.assign(existing, fields(reg), {seenMs: this.now()})
      return id
    }
    this.registered.set(id, {id, ...fields(reg), seenMs: this.now(), registered: true})
    return id
  }

  /** A heartbeat: refreshes `connected`. False when the id is unknown. */
  touch(id: string): boolean {
    const entry = this.registered.get(id)
    if (entry) {
      entry.seenMs = this.now()
      return true
    }
    // a live connection's entry is as fresh as its last frame or pong
    return this.live.get(id) !== undefined
  }

  /** Withdraws a registration (a node leaving the registry it joined). False when there is none. */
  remove(id: string): boolean {
    return this.registered.delete(id)
  }

  /**
   * The connection with this id closed (or its hello moved it to another
   * id): a registration it made live falls back to its heartbeats, last
   * seen when the connection was last heard from, until the TTL prunes it
   * or a heartbeat refreshes it. A connection that is not a registration
   * leaves the table with the connection itself.
   */
  connectionLeft(id: string, lastSeenMs: number): void {
    const entry = this.registered.get(id)
    if (entry) entry.seenMs = Math.max(entry.seenMs, lastSeenMs)
  }

  /** When an entry was last seen: a heartbeat, or for a live connection its last frame or pong. */
  lastSeenMs(entry: ClientEntry): number {
    return entry.live ? Math.max(entry.seenMs, entry.live.lastSeenMs) : entry.seenMs
  }

  /** Drops every registration not seen within the TTL, except live ones; returns the dropped ones. */
  prune(): ClientEntry[] {
    const cutoff = this.now() - this.ttlMs
    const dropped: ClientEntry[] = []
    for (const entry of this.registered.values()) {
      if (entry.seenMs >= cutoff || this.live.get(entry.id)) continue
      this.registered.delete(entry.id)
      dropped.push(entry)
    }
    return dropped
  }

  /** Prunes every {@link PRUNE_INTERVAL_MS} (or every TTL, when shorter) until {@link close}. */
  startPruning(onDropped?: (dropped: ClientEntry[]) => void): void {
    if (this.pruneTimer) return
    this.pruneTimer = setInterval(() => {
      const dropped = this.prune()
      if (dropped.length > 0) onDropped?.(dropped)
    }, Math.min(PRUNE_INTERVAL_MS, Math.max(1, this.ttlMs)))
    this.pruneTimer.unref()
  }

  close(): void {
    clearInterval(this.pruneTimer)
    this.pruneTimer = undefined
  }

  /** The table as `GET /clients` answers it: `{"<uuid>": {ip, port, connected, name, role[, url]}}`. */
  toJson(): Record<string, EntryJson> {
    const out: Record<string, EntryJson> = {}
    for (const entry of this.entries()) out[entry.id] = this.entryJson(entry)
    return out
  }

  entryJson(entry: ClientEntry): EntryJson {
    const json: EntryJson = {
      ip: entry.ip,
      port: entry.port,
      connected: new Date(this.lastSeenMs(entry)).toISOString(),
      name: entry.name,
      role: entry.role,
    }
    if (entry.url !== undefined) json.url = entry.url
    return json
  }
}

/** The entry of a live connection that is not a registration, made when asked for. */
function liveEntry(conn: LiveConnection): ClientEntry {
  return {id: conn.id, ip: conn.ip, port: conn.port, name: conn.name, role: conn.role, seenMs: conn.lastSeenMs, live: conn, registered: false}
}

function fields(reg: Registration): Pick<ClientEntry, 'ip' | 'port' | 'name' | 'role' | 'url'> {
  const f: Pick<ClientEntry, 'ip' | 'port' | 'name' | 'role' | 'url'> = {ip: reg.ip, port: reg.port, name: reg.name, role: reg.role ?? 'client'}
  if (reg.url !== undefined) f.url = reg.url
  return f
}

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
  live?: LiveSource
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
  /** the clock; injected so tests can use plain values */
  now?: () => number
}

/**
 * The node's client table: clients and nodes registered over HTTP (the name
 * server) and every live WebSocket connection. Pure bookkeeping, clock
 * injected; the owner calls {@link prune} (or {@link startPruning}).
 */
export class ClientTable {
  readonly ttlMs: number
  private readonly now: () => number
  private readonly entries = new Map<string, ClientEntry>()
  private pruneTimer: NodeJS.Timeout | undefined

  constructor(opts: TableOptions = {}) {
    this.ttlMs = opts.ttlMs ?? REGISTRY_TTL_MS_DEFAULT
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.entries.size
  }

  get(id: string): ClientEntry | undefined {
    return this.entries.get(id)
  }

  /** Entries whose name is exactly `name` (names are not unique). */
  byName(name: string): ClientEntry[] {
    return [...this.entries.values()].filter((e) => e.name === name)
  }

  /**
   * Finds the entry a person means by an id or a name. Among several entries
   * of one name a single live one wins; otherwise the answer is an error line.
   */
  find(idOrName: string): {entry: ClientEntry} | {error: string} {
    const byId = this.entries.get(idOrName) ?? this.entries.get(idOrName.toLowerCase())
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
    const existing = this.entries.get(id)
    if (existing) {
      Object.assign(existing, fields(reg), {seenMs: this.now(), registered: true})
      return id
    }
    this.entries.set(id, {id, ...fields(reg), seenMs: this.now(), registered: true})
    return id
  }

  /** A heartbeat: refreshes `connected`. False when the id is unknown. */
  touch(id: string): boolean {
    const entry = this.entries.get(id)
    if (!entry) return false
    entry.seenMs = this.now()
    return true
  }

  /** Removes an entry (a node leaving the registry it joined). False when unknown. */
  remove(id: string): boolean {
    return this.entries.delete(id)
  }

  /**
   * A WebSocket connection opened (or its hello changed its id from
   * `previousId`). An id that names an HTTP-registered entry attaches the
   * connection to it, so a registered client that connects becomes live.
   */
  attachLive(id: string, info: {ip: string; port: number; name: string; role: Role}, source: LiveSource, previousId?: string): void {
    if (previousId !== undefined && previousId !== id) {
      const old = this.entries.get(previousId)
      if (old?.live === source) this.detach(old)
    }
    const existing = this.entries.get(id)
    if (existing && existing.registered) {
      existing.live = source
      existing.seenMs = this.now()
      return
    }
    if (existing) {
      Object.assign(existing, info)
      existing.live = source
      return
    }
    // every field in the literal: an entry per live connection, so one object without a property array added later
    this.entries.set(id, {id, ip: info.ip, port: info.port, name: info.name, role: info.role, seenMs: this.now(), live: source, registered: false})
  }

  /**
   * A WebSocket connection closed. An entry that only existed because of the
   * connection leaves at once; a registered one stays, last seen when the
   * connection was last heard from, until the TTL prunes it or a heartbeat
   * refreshes it.
   */
  detachLive(id: string, source: LiveSource): void {
    const entry = this.entries.get(id)
    if (entry?.live === source) this.detach(entry)
  }

  /** When an entry was last seen: a heartbeat, or for a live connection its last frame or pong. */
  lastSeenMs(entry: ClientEntry): number {
    return entry.live ? Math.max(entry.seenMs, entry.live.lastSeenMs) : entry.seenMs
  }

  /** Drops every entry not seen within the TTL, except live connections; returns the dropped ones. */
  prune(): ClientEntry[] {
    const cutoff = this.now() - this.ttlMs
    const dropped: ClientEntry[] = []
    for (const entry of this.entries.values()) {
      if (entry.live || entry.seenMs >= cutoff) continue
      this.entries.delete(entry.id)
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
    for (const entry of this.entries.values()) out[entry.id] = this.entryJson(entry)
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

  private detach(entry: ClientEntry): void {
    if (!entry.registered) {
      this.entries.delete(entry.id)
      return
    }
    entry.seenMs = Math.max(entry.seenMs, entry.live?.lastSeenMs ?? 0)
    entry.live = undefined
  }
}

function fields(reg: Registration): Pick<ClientEntry, 'ip' | 'port' | 'name' | 'role' | 'url'> {
  const f: Pick<ClientEntry, 'ip' | 'port' | 'name' | 'role' | 'url'> = {ip: reg.ip, port: reg.port, name: reg.name, role: reg.role ?? 'client'}
  if (reg.url !== undefined) f.url = reg.url
  return f
}

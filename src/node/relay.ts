/**
 * The relay's bookkeeping, with no sockets: which connections are open, who
 * waits for which X (its origins) and who holds which X in flight (the
 * receivers it was forwarded to). The caller feeds it events and sends what it
 * answers.
 *
 * Its endpoints are of two kinds: *connections* (added with {@link Relay.add}),
 * which may be picked as receivers, and other endpoints that only take part
 * as origins or holders (another member of a cluster, say: a message handed to
 * it is held by it, and a message from it has it as origin). Both leave with
 * {@link Relay.remove}, which re-forwards what they held.
 */

import {TextTable} from './text-table.js'

interface Entry<C> {
  /**
   * connections that sent `message X` and still wait for `ok X`. Arrays, not
   * sets: nearly always one each, and an entry is made and dropped for every
   * message the relay carries.
   */
  origins: C[]
  /** connections X was forwarded to that have not answered yet */
  holders: C[]
}

/**
 * The X an endpoint is an origin of (or holds): appended to as it becomes
 * one, never searched. `live` counts those it still is; a text it stopped
 * being one of stays until the count falls to 0 (the list is dropped) or the
 * list is more than twice as long as the count (it is rebuilt from the
 * entries, see {@link Relay}). A Set would cost a hash insert and delete per
 * message, and V8 rebuilds a Set's table whenever it empties, which a
 * connection's does after nearly every message it sends or answers.
 */
export class Trail {
  texts: string[] | undefined = undefined
  live = 0
}

/** What the relay keeps for one endpoint. */
export interface ConnState {
  /** place in the array of pickable connections; -1 for an endpoint that is never picked */
  index: number
  /** made on first use: an idle connection has neither */
  originOf: Trail | undefined
  holding: Trail | undefined
}

/** Stale texts a {@link Trail} may carry beyond twice its live count before it is rebuilt. */
const TRAIL_SLACK = 8

/**
 * Where the relay keeps each endpoint's {@link ConnState}: a Map by default.
 * An endpoint type with a slot for it ({@link RelaySlot}, {@link slotStore})
 * saves a map entry per connection: a node may hold 100 000 of them.
 */
export interface StateStore<C> {
  get(c: C): ConnState | undefined
  set(c: C, st: ConnState): void
  delete(c: C): void
}

/** An endpoint that carries the relay's state for it. */
export interface RelaySlot {
  relayState?: ConnState
}

/** The {@link StateStore} of endpoints with a {@link RelaySlot}. */
export const slotStore: StateStore<RelaySlot> = {
  get: (c) => c.relayState,
  set: (c, st) => {
    c.relayState = st
  },
  delete: (c) => {
    c.relayState = undefined
  },
}

/** A forward the caller must perform: send `message text` to `to`. */
export interface Forward<C> {
  to: C
  text: string
}

/**
 * Chooses the receiver of a message waited for by `origin`. `local()` picks
 * uniformly among this relay's open connections; a cluster weighs it against
 * the other members. The default is `local()`.
 */
export type Chooser<C> = (origin: C, local: () => C | undefined) => C | undefined

/** Random draws {@link Relay.pick} tries before it looks at every connection. */
const PICK_DRAWS = 8

/** One of a trail's texts no longer counts (see {@link Trail}). */
function left(trail: Trail | undefined): void {
  if (trail !== undefined && --trail.live === 0) trail.texts = undefined
}

function removeFrom<C>(list: C[], c: C): boolean {
  const i = list.indexOf(c)
  if (i < 0) return false
  list[i] = list[list.length - 1]
  list.pop()
  return true
}

export class Relay<C> {
  private readonly conns: C[] = []
  /** by X (a Map that starts over now and then: see {@link TextTable}) */
  private readonly entries = new TextTable<Entry<C>>()
  /** `pick`, bound once (the chooser is handed it for every message) */
  private readonly local = () => this.pick()
  private readonly ready = (c: C) => this.isOpen(c) && !this.isCongested(c)

  /**
   * @param isOpen whether a connection is fully open at this instant; a
   *   connection that is closing (close frame sent or received) is never picked.
   * @param random uniform random number in [0, 1), replaceable in tests
   * @param choose where a message goes (see {@link Chooser}); local picking by default
   * @param stranded told when X is left with nobody to hold it (no receiver
   *   anywhere): a cluster hands X back to a member origin, which can still
   *   place it elsewhere, instead of keeping it here for an origin that waits
   * @param isCongested whether an open connection has more waiting to be
   *   written to it than it should (a slow reader): it is picked only when no
   *   open connection is free of that
   * @param state where each endpoint's state is kept (a Map unless given)
   */
  constructor(
    private readonly isOpen: (c: C) => boolean,
    private readonly random: () => number = Math.random,
    private readonly choose: Chooser<C> = (_origin, local) => local(),
    private readonly stranded?: (text: string, origins: readonly C[]) => void,
    private readonly isCongested: (c: C) => boolean = () => false,
    private readonly state: StateStore<C> = new Map<C, ConnState>(),
  ) {}

  /** Messages `c` sent that still wait for their ok (what one connection may have waiting is capped by the caller). */
  waitingFor(c: C): number {
    return this.state.get(c)?.originOf?.live ?? 0
  }

  /** Number of open connections the relay knows. */
  get connections(): number {
    return this.conns.length
  }

  /** Number of X still waiting for an ok. */
  get pending(): number {
    return this.entries.size
  }

  /** Adds a connection that may be picked as a receiver. */
  add(c: C): void {
    const st = this.state.get(c)
    if (st && st.index >= 0) return
    if (st) st.index = this.conns.length
    else this.state.set(c, {index: this.conns.length, originOf: undefined, holding: undefined})
    this.conns.push(c)
  }

  /** Adds an endpoint that is never picked but may send and hold messages (a cluster member). */
  track(c: C): void {
    if (this.state.get(c) === undefined) this.state.set(c, {index: -1, originOf: undefined, holding: undefined})
  }

  /**
   * `message text` arrived from `from`: remembers `from` as an origin and picks
   * the receiver (by default uniformly among open connections, `from`
   * included). Returns undefined when no connection is open to take it.
   */
  message(from: C, text: string): C | undefined {
    const st = this.state.get(from)
    if (!st) return undefined
    let entry = this.entries.get(text)
    if (entry === undefined) {
      entry = {origins: [], holders: []}
      this.entries.set(text, entry)
    }
    if (!entry.origins.includes(from)) {
      entry.origins.push(from)
      this.note((st.originOf ??= new Trail()), text, from, 'origins')
    }
    return this.assign(entry, text, from)
  }

  /**
   * `ok text` arrived from `from`: returns every origin still waiting for it
   * (open ones) and forgets the entry. Only a holder of X may acknowledge it:
   * from anyone else the answer is undefined and nothing changes (a forged
   * acknowledgement must not cancel another client's delivery). An ok for an
   * X nobody waits for any more (late, or never sent) returns no origins.
   */
  ok(from: C, text: string): C[] | undefined {
    const entry = this.entries.get(text)
    if (!entry) return []
    if (!entry.holders.includes(from)) return undefined
    this.drop(text, entry)
    const origins = entry.origins
    if (origins.length === 1) return this.isOpen(origins[0]) ? origins : []
    return origins.filter(this.isOpen)
  }

  /**
   * `c` closed: forgets it as an origin, and re-forwards every X it held that
   * someone still waits for and nobody else holds — the receiver left before
   * answering, so without this the origin would wait until its own timeout.
   */
  remove(c: C): Forward<C>[] {
    const st = this.state.get(c)
    if (!st) return []
    this.state.delete(c)
    if (st.index >= 0) {
      const last = this.conns.pop() as C
      if (last !== c) {
        this.conns[st.index] = last
        ;(this.state.get(last) as ConnState).index = st.index
      }
    }
    // a trail's stale texts (and repeats) are those whose entry is gone or no longer lists c
    for (const text of st.originOf?.texts ?? []) {
      const entry = this.entries.get(text)
      if (!entry || !removeFrom(entry.origins, c)) continue
      if (entry.origins.length === 0) this.drop(text, entry)
    }
    const forwards: Forward<C>[] = []
    for (const text of st.holding?.texts ?? []) {
      const entry = this.entries.get(text)
      if (!entry || !removeFrom(entry.holders, c)) continue
      if (entry.holders.length > 0) continue
      const to = this.assign(entry, text, entry.origins[0])
      if (to !== undefined) forwards.push({to, text})
    }
    return forwards
  }

  /** `origin` no longer waits for X here (a member took X back): forgets it, and X when nobody else waits. */
  withdraw(origin: C, text: string): void {
    const entry = this.entries.get(text)
    if (!entry || !removeFrom(entry.origins, origin)) return
    left(this.state.get(origin)?.originOf)
    if (entry.origins.length === 0) this.drop(text, entry)
  }

  /**
   * `holder` gives X back unanswered (a member that had nobody to hand it
   * to): X goes to another receiver, unless someone else still holds it or
   * nobody waits for it.
   */
  release(holder: C, text: string): Forward<C> | undefined {
    const entry = this.entries.get(text)
    if (!entry || !removeFrom(entry.holders, holder)) return undefined
    left(this.state.get(holder)?.holding)
    if (entry.holders.length > 0 || entry.origins.length === 0) return undefined
    const to = this.assign(entry, text, entry.origins[0])
    return to === undefined ? undefined : {to, text}
  }

  /**
   * A uniformly random open connection that is not congested; if every open
   * one is, a uniformly random open one (a slow reader is closed once it is
   * far behind, see the server); undefined if none is open.
   */
  pick(): C | undefined {
    const n = this.conns.length
    // A closing or congested connection is rare (a closing one leaves on its
    // close event), so a few random draws almost always succeed; the scan
    // keeps the choice correct.
    for (let i = 0; i < PICK_DRAWS && n > 0; i++) {
      const c = this.conns[Math.floor(this.random() * n)]
      if (this.ready(c)) return c
    }
    if (n === 0) return undefined
    let among = this.conns.filter(this.ready)
    if (among.length === 0) among = this.conns.filter(this.isOpen)
    return among.length === 0 ? undefined : among[Math.floor(this.random() * among.length)]
  }

  private assign(entry: Entry<C>, text: string, origin: C): C | undefined {
    const to = this.choose(origin, this.local)
    if (to === undefined) {
      this.stranded?.(text, entry.origins)
      return undefined
    }
    let st = this.state.get(to)
    if (st === undefined) {
      st = {index: -1, originOf: undefined, holding: undefined}
      this.state.set(to, st)
    }
    if (!entry.holders.includes(to)) {
      entry.holders.push(to)
      this.note((st.holding ??= new Trail()), text, to, 'holders')
    }
    return to
  }

  private drop(text: string, entry: Entry<C>): void {
    this.entries.delete(text)
    for (const origin of entry.origins) left(this.state.get(origin)?.originOf)
    for (const holder of entry.holders) left(this.state.get(holder)?.holding)
  }

  /**
   * `c` became one of X's `side` (origins or holders): X joins its trail.
   * A trail grown past twice its live count (plus {@link TRAIL_SLACK}) is
   * rebuilt from the entries first, each text once: what that costs is paid
   * for by the appends since the last rebuild.
   */
  private note(trail: Trail, text: string, c: C, side: 'origins' | 'holders'): void {
    trail.live++
    if (trail.texts === undefined) {
      trail.texts = [text]
      return
    }
    trail.texts.push(text)
    if (trail.texts.length <= 2 * trail.live + TRAIL_SLACK) return
    const kept = new Set<string>()
    for (const t of trail.texts) if (this.entries.get(t)?.[side].includes(c)) kept.add(t)
    trail.texts = [...kept]
  }
}

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

interface Entry<C> {
  /** connections that sent `message X` and still wait for `ok X` */
  origins: Set<C>
  /** connections X was forwarded to that have not answered yet */
  holders: Set<C>
}

interface ConnState {
  /** place in the array of pickable connections; -1 for an endpoint that is never picked */
  index: number
  originOf: Set<string>
  holding: Set<string>
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

export class Relay<C> {
  private readonly conns: C[] = []
  private readonly state = new Map<C, ConnState>()
  private readonly entries = new Map<string, Entry<C>>()

  /**
   * @param isOpen whether a connection is fully open at this instant; a
   *   connection that is closing (close frame sent or received) is never picked.
   * @param random uniform random number in [0, 1), replaceable in tests
   * @param choose where a message goes (see {@link Chooser}); local picking by default
   * @param stranded told when X is left with nobody to hold it (no receiver
   *   anywhere): a cluster hands X back to a member origin, which can still
   *   place it elsewhere, instead of keeping it here for an origin that waits
   */
  constructor(
    private readonly isOpen: (c: C) => boolean,
    private readonly random: () => number = Math.random,
    private readonly choose: Chooser<C> = (_origin, local) => local(),
    private readonly stranded?: (text: string, origins: ReadonlySet<C>) => void,
  ) {}

  /** Messages `c` sent that still wait for their ok (what one connection may have waiting is capped by the caller). */
  waitingFor(c: C): number {
    return this.state.get(c)?.originOf.size ?? 0
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
    else this.state.set(c, {index: this.conns.length, originOf: new Set(), holding: new Set()})
    this.conns.push(c)
  }

  /** Adds an endpoint that is never picked but may send and hold messages (a cluster member). */
  track(c: C): void {
    if (!this.state.has(c)) this.state.set(c, {index: -1, originOf: new Set(), holding: new Set()})
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
    if (!entry) {
      entry = {origins: new Set(), holders: new Set()}
      this.entries.set(text, entry)
    }
    entry.origins.add(from)
    st.originOf.add(text)
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
    if (!entry.holders.has(from)) return undefined
    this.drop(text, entry)
    const out: C[] = []
    for (const origin of entry.origins) if (this.isOpen(origin)) out.push(origin)
    return out
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
    for (const text of st.originOf) {
      const entry = this.entries.get(text)
      if (!entry) continue
      entry.origins.delete(c)
      if (entry.origins.size === 0) this.drop(text, entry)
    }
    const forwards: Forward<C>[] = []
    for (const text of st.holding) {
      const entry = this.entries.get(text)
      if (!entry) continue
      entry.holders.delete(c)
      if (entry.holders.size > 0) continue
      const to = this.assign(entry, text, entry.origins.values().next().value as C)
      if (to !== undefined) forwards.push({to, text})
    }
    return forwards
  }

  /** `origin` no longer waits for X here (a member took X back): forgets it, and X when nobody else waits. */
  withdraw(origin: C, text: string): void {
    const entry = this.entries.get(text)
    if (!entry || !entry.origins.delete(origin)) return
    this.state.get(origin)?.originOf.delete(text)
    if (entry.origins.size === 0) this.drop(text, entry)
  }

  /**
   * `holder` gives X back unanswered (a member that had nobody to hand it
   * to): X goes to another receiver, unless someone else still holds it or
   * nobody waits for it.
   */
  release(holder: C, text: string): Forward<C> | undefined {
    const entry = this.entries.get(text)
    if (!entry || !entry.holders.delete(holder)) return undefined
    this.state.get(holder)?.holding.delete(text)
    if (entry.holders.size > 0 || entry.origins.size === 0) return undefined
    const to = this.assign(entry, text, entry.origins.values().next().value as C)
    return to === undefined ? undefined : {to, text}
  }

  /** A uniformly random open connection, or undefined if none is open. */
  pick(): C | undefined {
    const n = this.conns.length
    // A closing connection is rare (it leaves on its close event), so a few
    // random draws almost always succeed; the scan keeps the choice correct.
    for (let i = 0; i < 4 && n > 0; i++) {
      const c = this.conns[Math.floor(this.random() * n)]
      if (this.isOpen(c)) return c
    }
    const open = this.conns.filter(this.isOpen)
    return open.length === 0 ? undefined : open[Math.floor(this.random() * open.length)]
  }

  private assign(entry: Entry<C>, text: string, origin: C): C | undefined {
    const to = this.choose(origin, () => this.pick())
    if (to === undefined) {
      this.stranded?.(text, entry.origins)
      return undefined
    }
    this.track(to)
    entry.holders.add(to)
    ;(this.state.get(to) as ConnState).holding.add(text)
    return to
  }

  private drop(text: string, entry: Entry<C>): void {
    this.entries.delete(text)
    for (const origin of entry.origins) this.state.get(origin)?.originOf.delete(text)
    for (const holder of entry.holders) this.state.get(holder)?.holding.delete(text)
  }
}

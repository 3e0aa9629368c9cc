/**
 * The relay's bookkeeping, with no sockets: which connections are open, who
 * waits for which X (its origins) and who holds which X in flight (the
 * receivers it was forwarded to). The server feeds it events and sends what it
 * answers.
 */

interface Entry<C> {
  /** connections that sent `message X` and still wait for `ok X` */
  origins: Set<C>
  /** connections X was forwarded to that have not answered yet */
  holders: Set<C>
}

interface ConnState {
  index: number
  originOf: Set<string>
  holding: Set<string>
}

/** A forward the caller must perform: send `message text` to `to`. */
export interface Forward<C> {
  to: C
  text: string
}

export class Relay<C> {
  private readonly conns: C[] = []
  private readonly state = new Map<C, ConnState>()
  private readonly entries = new Map<string, Entry<C>>()

  /**
   * @param isOpen whether a connection is fully open at this instant; a
   *   connection that is closing (close frame sent or received) is never picked.
   * @param random uniform random number in [0, 1), replaceable in tests
   */
  constructor(
    private readonly isOpen: (c: C) => boolean,
    private readonly random: () => number = Math.random,
  ) {}

  /** Number of open connections the relay knows. */
  get connections(): number {
    return this.conns.length
  }

  /** Number of X still waiting for an ok. */
  get pending(): number {
    return this.entries.size
  }

  add(c: C): void {
    if (this.state.has(c)) return
    this.state.set(c, {index: this.conns.length, originOf: new Set(), holding: new Set()})
    this.conns.push(c)
  }

  /**
   * `message text` arrived from `from`: remembers `from` as an origin and picks
   * the receiver, uniformly among open connections, `from` included.
   * Returns undefined when no connection is open to take it.
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
    return this.assign(entry, text)
  }

  /** `ok text` arrived: returns every origin still waiting for it (open ones) and forgets the entry. */
  ok(from: C, text: string): C[] {
    const entry = this.entries.get(text)
    if (!entry) return []
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
    const last = this.conns.pop() as C
    if (last !== c) {
      this.conns[st.index] = last
      ;(this.state.get(last) as ConnState).index = st.index
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
      const to = this.assign(entry, text)
      if (to !== undefined) forwards.push({to, text})
    }
    return forwards
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

  private assign(entry: Entry<C>, text: string): C | undefined {
    const to = this.pick()
    if (to === undefined) return undefined
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

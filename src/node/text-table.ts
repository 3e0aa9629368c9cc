/**
 * A table from text to value with the part of `Map`'s interface the relay
 * uses (get, set, delete, size), kept in the properties of an object with no
 * prototype instead of a `Map`.
 *
 * The relay makes and drops an entry per message it carries, so its table is
 * rebuilt every few dozen messages (deleted slots fill it up). A `Map`'s old
 * table keeps a link to its successor and the entries it held, for iterators.
 * Once one such table has reached V8's old generation (it survived two
 * scavenges: a quiet second, a burst of connections opening), that link makes
 * each successor, and every entry, array and text it holds, look alive to the
 * next scavenge, which copies it into the old generation too. Everything in
 * flight was then promoted, about 1 MB per scavenge, until a full collection
 * cleared it, and soon again after. A paced `bench:throughput` phase after the
 * saturated one (200 connections, 20 000 round trips/s, 8 s): 67 MB promoted
 * and 11 full collections with a `Map`, 1.6 MB and one with this table.
 *
 * An object's backing store, once replaced, links to nothing, and the texts
 * are ordinary property names: a null prototype means nothing is inherited,
 * `__proto__` and `constructor` included; a text such as `"7"` is an index
 * but is still its own key (`"07"` is another).
 */
export class TextTable<V extends object> {
  private slots: Record<string, V> = Object.create(null)
  private count = 0

  /** Number of texts in the table. */
  get size(): number {
    return this.count
  }

  get(text: string): V | undefined {
    return this.slots[text]
  }

  set(text: string, value: V): this {
    if (this.slots[text] === undefined) this.count++
    this.slots[text] = value
    return this
  }

  /** Removes `text`; true when it was there. */
  delete(text: string): boolean {
    if (this.slots[text] === undefined) return false
    delete this.slots[text]
    this.count--
    return true
  }
}

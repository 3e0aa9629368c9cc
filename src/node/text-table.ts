/** Deletes after which a {@link TextTable} may start over with a new `Map`. */
export const RENEW_AFTER_DELETES = 1024

/** A renewal copies at most one live text per this many deletes since the last. */
export const DELETES_PER_COPY = 16

/**
 * A table from text to value with the part of `Map`'s interface the relay
 * uses (get, set, delete, size): a `Map` it replaces with a copy of itself
 * now and then, when that copy is small.
 *
 * The relay makes and drops an entry per message it carries, so its `Map`
 * rebuilds its hash table every few dozen messages (deleted slots fill it).
 * V8 keeps a link from each replaced table to its successor (for iterators),
 * and the replaced table still holds the entries it had. Once one such table
 * has reached the old generation (it survived two scavenges: a quiet second,
 * a burst of connections opening), the scavenger takes that link as a root:
 * each successor, and every entry, array and text it holds, is copied into
 * the old generation at the next scavenge, and is then the old table of the
 * next. A full collection clears that garbage but not the chain, since the
 * live table is by then old too. In a paced `bench:throughput` phase after
 * the saturated one (200 connections, 20 000 round trips/s, 8 s) about 1 MB
 * was promoted per scavenge, 67 MB in all, with 11 full collections.
 *
 * A new `Map` made from the old one is not linked to it: its tables are
 * young and replaced long before they could be promoted, and the old `Map`'s
 * last table links to nothing, so the chain ends there. Renewing after {@link RENEW_AFTER_DELETES} deletes,
 * when the copy is at most one text per {@link DELETES_PER_COPY} deletes
 * since the last renewal, costs a small fraction of the deletes it follows.
 * Same phase: 2.8 MB promoted, no full collection.
 */
export class TextTable<V> {
  private map = new Map<string, V>()
  private deletes = 0
  private renewed = 0

  /** Number of texts in the table. */
  get size(): number {
    return this.map.size
  }

  get(text: string): V | undefined {
    return this.map.get(text)
  }

  set(text: string, value: V): this {
    this.map.set(text, value)
    return this
  }

  /** Removes `text`; true when it was there. */
  delete(text: string): boolean {
    if (!this.map.delete(text)) return false
    if (++this.deletes >= RENEW_AFTER_DELETES && this.map.size * DELETES_PER_COPY <= this.deletes) {
      this.map = new Map(this.map)
      this.deletes = 0
      this.renewed++
    }
    return true
  }

  /** How many times the table started over with a new `Map`. */
  get renewals(): number {
    return this.renewed
  }
}

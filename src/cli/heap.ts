import diagnostics_channel from 'node:diagnostics_channel'
import {PerformanceObserver} from 'node:perf_hooks'
import v8 from 'node:v8'
import {CONNECTION_OPENED_CHANNEL} from '../protocol/defaults.js'

/** The young generation's size a node keeps while connections open in a burst, per semi-space (V8's default grows it up to 16). */
export const YOUNG_SEMI_SPACE_MIB = 4

/** Connections opened within {@link BURST_WINDOW_MS} (or up to twice that) that make a burst. */
export const BURST_OPENS = 100
export const BURST_WINDOW_MS = 2000

/**
 * How far V8 lets a node's old generation grow past what was live at the
 * last full collection, in percent (V8's own choice is up to 300 %).
 */
export const HEAP_GROWING_PERCENT = 50

/**
 * A node's (`start`) heap settings. bin/run.js calls this first thing, before
 * loading the command makes the heap grow. Both are V8 settings it reads
 * after start; an operator's own flags win: a setting named in node's
 * arguments or in NODE_OPTIONS is left as given.
 */
export function tuneNodeHeap(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ')
  if (!/semi[-_]space/.test(given)) capYoungGeneration()
  if (!/heap[-_]growing[-_]percent/.test(given)) keepOldGenerationTight()
}

/**
 * Keeps V8's young generation at {@link YOUNG_SEMI_SPACE_MIB} MiB per
 * semi-space (what `--max-semi-space-size=4` would do, had the node been
 * started with it).
 *
 * V8 doubles the young generation (the semi-spaces new objects are made in)
 * whenever many objects survive a scavenge, up to 16 MiB per semi-space, and
 * seldom gives it back. A relay's bursts (connections opening by the
 * thousand, a load test's ramp) drive it to that maximum, about 32 MB of RSS
 * that an idle node then keeps: 10 000 idle connections added 73 MB to a
 * node's RSS, against 49 MB with 1 MiB semi-spaces (bench:memory). But 1 MiB
 * collects four times as often as 4 MiB under a load test, and connections
 * that outlive two scavenges reach the old generation: at 4 MiB the node
 * spent half the time in scavenges and about 5 % less CPU per client (30 000
 * clients over 18 s, ack delay 0..1000 ms, 4 rounds: 0.462 against 0.486 ms).
 *
 * The growth factor is the one young-generation setting V8 reads after start
 * (--max-semi-space-size is fixed when the heap is made), so the cap is kept
 * by switching it: after each collection (a `gc` performance entry) the
 * factor is 2 while the young generation is below the cap and 1 once it is
 * there. An observer's callback runs after the collection that grew it, so
 * at most two quick collections in one event-loop turn could double it past
 * the cap once. NODE_OPTIONS=--max-semi-space-size=16 gives a node that
 * trades memory for CPU (and turns this off).
 *
 * The cap holds while connections open in a burst (at least
 * {@link BURST_OPENS} within {@link BURST_WINDOW_MS}: the node publishes
 * each on {@link CONNECTION_OPENED_CHANNEL}), which is when RSS per
 * connection is at stake. Traffic on a few connections that stay open is
 * left to V8's own growth: there the 4 MiB cap collected four times as often
 * for the same garbage (a paced bench:throughput, 200 connections, 20 000
 * round trips/s: 340-400 scavenges and 490-700 ms in 12 s, against 85-93
 * and 280-390 ms at 16 MiB, a few % of the node's CPU per round trip). A
 * young generation grown then is kept, as V8 keeps it, through a later burst.
 */
function capYoungGeneration(): void {
  const cap = 2 * YOUNG_SEMI_SPACE_MIB * 2 ** 20
  const opened = new BurstCounter()
  diagnostics_channel.subscribe(CONNECTION_OPENED_CHANNEL, () => opened.note(Date.now()))
  let factor = 0
  const check = () => {
    const size = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? cap
    const next = size < cap || !opened.bursting(Date.now()) ? 2 : 1
    if (next === factor) return
    factor = next
    v8.setFlagsFromString(`--semi-space-growth-factor=${next}`)
  }
  check()
  new PerformanceObserver(check).observe({entryTypes: ['gc']})
}

/** Counts connections opened in the current and the previous {@link BURST_WINDOW_MS} window. */
export class BurstCounter {
  private current = 0
  private previous = 0
  private windowStartMs = -Infinity

  note(nowMs: number): void {
    this.roll(nowMs)
    this.current++
  }

  /** At least {@link BURST_OPENS} opened within the last one or two windows. */
  bursting(nowMs: number): boolean {
    this.roll(nowMs)
    return this.current + this.previous >= BURST_OPENS
  }

  private roll(nowMs: number): void {
    const since = nowMs - this.windowStartMs
    if (since < BURST_WINDOW_MS) return
    this.previous = since < 2 * BURST_WINDOW_MS ? this.current : 0
    this.current = 0
    this.windowStartMs = nowMs
  }
}

/**
 * Starts a full collection once the old generation is {@link HEAP_GROWING_PERCENT}
 * past what was live after the last one (V8 still waits for at least 8 MB
 * more).
 *
 * Under a load test a relay's live heap is small (about 10 MB) while what it
 * promotes and then drops (the connections that outlived two scavenges) is
 * most of what it allocates. V8 picks the growth from how fast its
 * collections are, and fast ones on a small heap let the old generation grow
 * to 4 times the live size before collecting: 40-48 MB of garbage at times,
 * the peak of a 100 000-client load test (109-112 MB). At 50 % that peak is
 * 81-85 MB with 1 MiB semi-spaces, 89 MB with 4 MiB (bench:memory); the
 * cost is about twice as many full collections (58 instead of 36 in that
 * test, each a few ms).
 */
function keepOldGenerationTight(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}

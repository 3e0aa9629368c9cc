import v8 from 'node:v8'

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
  if (!/semi[-_]space/.test(given)) keepYoungGenerationSmall()
  if (!/heap[-_]growing[-_]percent/.test(given)) keepOldGenerationTight()
}

/**
 * Keeps V8's young generation at its start-up size.
 *
 * V8 doubles the young generation (the semi-spaces new objects are made in)
 * whenever many objects survive a scavenge, up to 16 MiB per semi-space, and
 * seldom gives it back. A relay's bursts (connections opening by the
 * thousand, a load test's ramp) drive it to that maximum, about 32 MB of RSS
 * that an idle node then keeps. Kept at 1 MiB: 10 000 idle connections add
 * about 49 MB to a node's RSS instead of 73 MB (bench:memory). The price is
 * more frequent scavenges under heavy traffic: 5 to 13 % more CPU per round
 * trip at 20 000 round trips a second in our runs (bench:throughput), while
 * the saturated rate did not change.
 *
 * The growth factor is the one young-generation setting V8 reads after start
 * (--max-semi-space-size is fixed when the heap is made).
 * NODE_OPTIONS=--max-semi-space-size=16 gives a node that trades memory for CPU.
 */
function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
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
 * 81-85 MB (bench:memory); the cost is about twice as many full collections
 * (58 instead of 36 in that test, each a few ms).
 */
function keepOldGenerationTight(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}

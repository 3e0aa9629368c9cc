import v8 from 'node:v8'

/**
 * Keeps V8's young generation at its start-up size in a node (`start`).
 * bin/run.js calls this first thing, before loading the command makes the
 * heap grow.
 *
 * V8 doubles the young generation (the semi-spaces new objects are made in)
 * whenever many objects survive a scavenge, up to 16 MiB per semi-space, and
 * seldom gives it back. A relay's bursts (connections opening by the
 * thousand, a load test's ramp) drive it to that maximum, about 32 MB of RSS
 * that an idle node then keeps. Kept at 1 MiB: 10 000 idle connections add
 * about 49 MB to a node's RSS instead of 73 MB, and a 100 000-client load test
 * peaks at about 112 MB instead of 142-151 MB (bench:memory). The price is more
 * frequent scavenges under heavy traffic: 5 to 13 % more CPU per round trip
 * at 20 000 round trips a second in our runs (bench:throughput), while the
 * saturated rate did not change.
 *
 * The growth factor is the one young-generation setting V8 reads after start
 * (--max-semi-space-size is fixed when the heap is made). An operator's own
 * flags win: nothing changes when node's arguments or NODE_OPTIONS name a
 * semi-space setting, e.g. NODE_OPTIONS=--max-semi-space-size=16 for a node
 * that should trade memory for CPU.
 */
export function keepYoungGenerationSmall(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ')
  if (/semi[-_]space/.test(given)) return
  v8.setFlagsFromString('--semi-space-growth-factor=1')
}

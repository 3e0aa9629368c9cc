import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, it} from 'vitest'
import {BURST_OPENS, BURST_WINDOW_MS, BurstCounter, YOUNG_SEMI_SPACE_MIB} from '../../src/cli/heap.js'
import {ROOT} from '../helpers/cli.js'

/**
 * A process that calls the built `tuneNodeHeap()` (what bin/run.js does for
 * `start`), then keeps about 17 MB live while it promotes and drops about
 * 200 MB: objects that outlive two scavenges, as a relay's connections do.
 * It prints the old generation's largest size and what was live at the end.
 */
const CHURN = `
import v8 from 'node:v8'
const {tuneNodeHeap} = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'heap.js')).href)})
tuneNodeHeap()
const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')
const live = []
for (let i = 0; i < 200000; i++) live.push({i, s: 'live-' + i})
let young = []
let peak = 0
for (let round = 0; round < 120; round++) {
  for (let i = 0; i < 20000; i++) young.push({a: i, b: [i], c: 'garbage-' + i})
  if (young.length > 60000) young = young.slice(40000)
  peak = Math.max(peak, old().space_size)
}
young = []
globalThis.gc()
console.log(JSON.stringify({peak, live: old().space_used_size, kept: live.length}))
`

/** Runs {@link CHURN}; the young generation fixed at the node's 4 MiB, so that only the old generation's setting differs between runs. */
function churn(nodeArgs: string[]): {peak: number; live: number} {
  const young = [`--min-semi-space-size=${YOUNG_SEMI_SPACE_MIB}`, `--max-semi-space-size=${YOUNG_SEMI_SPACE_MIB}`]
  const r = spawnSync(process.execPath, ['--expose-gc', ...young, ...nodeArgs, '--input-type=module', '-e', CHURN], {encoding: 'utf8'})
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as {peak: number; live: number}
}

/**
 * A process that calls the built `tuneNodeHeap()`, then keeps up to 60 000
 * young objects alive across scavenges (the survival that makes V8 grow its
 * young generation), letting the event loop turn between rounds as a node's
 * does; with OPENS set it announces that many connections a round on the
 * channel a node announces its accepted connections on, a burst. It prints
 * the young generation's largest size (both semi-spaces).
 */
const YOUNG = `
import diagnostics_channel from 'node:diagnostics_channel'
import v8 from 'node:v8'
const {tuneNodeHeap} = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'cli', 'heap.js')).href)})
const {CONNECTION_OPENED_CHANNEL} = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'protocol', 'defaults.js')).href)})
tuneNodeHeap()
const opened = diagnostics_channel.channel(CONNECTION_OPENED_CHANNEL)
const opens = Number(process.env.OPENS ?? 0)
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
let kept = []
let peak = 0
for (let round = 0; round < 120; round++) {
  await new Promise((turn) => setImmediate(turn))
  for (let i = 0; i < opens; i++) opened.publish({})
  for (let i = 0; i < 20000; i++) kept.push({a: i, b: [i], c: 'young-' + i})
  if (kept.length > 60000) kept = kept.slice(40000)
  peak = Math.max(peak, young())
}
console.log(JSON.stringify({peak}))
`

/** Runs {@link YOUNG} with NODE_OPTIONS as given (and nothing else from this process's), announcing `opens` connections a round. */
function youngPeak(nodeOptions: string, opens: number): number {
  const env = {...process.env, NODE_OPTIONS: nodeOptions, OPENS: String(opens)}
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', YOUNG], {encoding: 'utf8', env})
  expect(r.status, r.stderr).toBe(0)
  return (JSON.parse(r.stdout) as {peak: number}).peak
}

describe("a node's heap settings (src/cli/heap.ts)", () => {
  it('keep the young generation at 4 MiB per semi-space while connections open in a burst, leave it to V8 otherwise; NODE_OPTIONS with a semi-space setting wins', () => {
    const cap = 2 * YOUNG_SEMI_SPACE_MIB * 2 ** 20
    // the cap, or one doubling past it: the check runs after the collection that grew it, and on a
    // busy machine a second collection can come first (see capYoungGeneration)
    expect(youngPeak('', BURST_OPENS)).toBeLessThanOrEqual(2 * cap)
    // the same work on connections that stay open: V8 grows the young generation to 2 × 16 MiB, 4 times the cap
    expect(youngPeak('', 0)).toBeGreaterThan(2 * cap)
    // the operator's own setting is left alone, burst or not
    expect(youngPeak('--max-semi-space-size=16', BURST_OPENS)).toBeGreaterThan(2 * cap)
  })

  it('count a burst as BURST_OPENS connections within one or two windows', () => {
    const w = BURST_WINDOW_MS
    const c = new BurstCounter()
    expect(c.bursting(0)).toBe(false)
    for (let i = 0; i < BURST_OPENS - 1; i++) c.note(10)
    expect(c.bursting(10)).toBe(false)
    c.note(w + 10)
    // the previous window's opens still count in the next
    expect(c.bursting(w + 20)).toBe(true)
    // two windows later they do not
    expect(c.bursting(3 * w + 20)).toBe(false)
  })

  it('keep the old generation near 1.5 times what is live; node arguments that name the setting win', () => {
    const tuned = churn([])
    // 17 MB live and some in flight: at 50 % growth the old generation peaks near 51 MB (V8's own growth: 106-126 MB)
    expect(tuned.live).toBeGreaterThan(12 * 2 ** 20)
    expect(tuned.peak).toBeLessThan(4 * tuned.live)
    // the operator's own growth (300 %: V8's largest) is left as given, and the same work grows the old generation far more (about 124 MB)
    const own = churn(['--heap-growing-percent=300'])
    expect(own.peak).toBeGreaterThan(5 * own.live)
    expect(own.peak).toBeGreaterThan(1.7 * tuned.peak)
  })
})

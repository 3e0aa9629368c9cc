/**
 * The relay's hot path against the bare-`ws` reference relay
 * (bench/reference-relay.ts), in the same run, in interleaved rounds:
 *
 * - saturated: N persistent connections each keep K messages in flight
 *   (send `message X`, answer every `message Y` with `ok Y`, send the next X
 *   as soon as `ok X` is back): round trips per second, p50/p99, and the ratio
 *   to the reference's of the same round;
 * - paced: the driver offers a fixed rate of round trips over the same
 *   connections: the relay's CPU per round trip (user+system from /proc), so
 *   a cheaper relay shows even when the driver, which shares the machine, is
 *   the limit; p50/p99 at that rate.
 *
 * Three relays: the reference, a node in text mode (`start --no-repl`, the
 * way an operator runs it) and a node with `--json` (an NDJSON line per
 * relayed message, into a file). Round r runs them in one order, round r+1 in
 * the reverse one (A B C, C B A, ...), so none always gets the quieter machine.
 *
 *   npm run bench:throughput -- [--connections 200] [--inflight 4] [--seconds 10] [--rounds 3]
 *                               [--rate 20000] [--relays reference,text,json] [--node-args "..."]
 *                               [--cpu-prof DIR] [--baseline PATH/bin/run.js] [--phases saturated,paced]
 *
 * With --baseline, the relays `base-text` and `base-json` are another build of
 * peerlink (e.g. main's, to see what a change did in the same run).
 * With --cpu-prof each relay process runs under `node --cpu-prof` and writes
 * its profiles into DIR/RELAY-roundN/ when it is stopped (SIGTERM).
 */
import {mkdirSync} from 'node:fs'
import path from 'node:path'
import {arg, machineInfo, median, printTable, startPeerlinkNode, startReferenceRelay, writeResult, type Server} from './common.js'
import {measureRoundTrips, type RoundTripResult} from './roundtrips.js'

const CONNECTIONS = Number(arg('connections', '200'))
const INFLIGHT = Number(arg('inflight', '4'))
const SECONDS = Number(arg('seconds', '10'))
const ROUNDS = Number(arg('rounds', '3'))
const RATE = Number(arg('rate', '20000'))
const RELAYS = arg('relays', 'reference,text,json').split(',') as Relay[]
const NODE_ARGS = arg('node-args', '').split(' ').filter(Boolean)
const CPU_PROF = arg('cpu-prof', '')
const BASELINE = arg('baseline', '')
const PHASES = arg('phases', 'saturated,paced').split(',')
const WARMUP_MS = 2000

type Relay = 'reference' | 'text' | 'json' | 'base-text' | 'base-json'

const LABEL: Record<Relay, string> = {reference: 'reference (bare ws)', text: 'peerlink (text)', json: 'peerlink --json', 'base-text': 'baseline (text)', 'base-json': 'baseline --json'}

interface Measured {
  saturated: RoundTripResult
  paced: RoundTripResult
}

function start(relay: Relay, round: number): Promise<Server> {
  // one folder per relay and round: a process may write several profiles (tsx's loader thread writes its own)
  const prof = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF, `${relay}-round${round}`)}`] : []
  if (relay === 'reference') return startReferenceRelay(prof)
  const base = relay.startsWith('base-')
  if (base && !BASELINE) throw new Error(`${relay} needs --baseline PATH/bin/run.js`)
  return startPeerlinkNode(NODE_ARGS, {json: relay.endsWith('json'), nodeArgs: prof, run: base ? BASELINE : undefined})
}

async function measure(relay: Relay, round: number): Promise<Measured> {
  const server = await start(relay, round)
  try {
    const common = {connections: CONNECTIONS, seconds: SECONDS, warmupMs: WARMUP_MS, relayPid: server.pid}
    const skipped: RoundTripResult = {rt_per_s: 0, p50_ms: null, p99_ms: null, relay_cpu_us_per_rt: null, driver_cpu_us_per_rt: 0}
    const saturated = PHASES.includes('saturated') ? await measureRoundTrips([server.url], {...common, inflight: INFLIGHT, tag: `${relay}${round}s`}) : skipped
    const paced = PHASES.includes('paced') ? await measureRoundTrips([server.url], {...common, rate: RATE, tag: `${relay}${round}p`}) : skipped
    return {saturated, paced}
  } finally {
    await server.stop(CPU_PROF ? 'SIGTERM' : 'SIGKILL')
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100
const med = (values: Array<number | null>) => {
  const vs = values.filter((v): v is number => v !== null)
  return vs.length === 0 ? null : round2(median(vs))
}

async function main(): Promise<void> {
  if (CPU_PROF) mkdirSync(CPU_PROF, {recursive: true})
  const machine = machineInfo()
  const rounds: Array<Partial<Record<Relay, Measured>> & {order: Relay[]; ratio: Partial<Record<Relay, number>>}> = []
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? RELAYS : [...RELAYS].reverse()
    const round: (typeof rounds)[number] = {order, ratio: {}}
    for (const relay of order) {
      const m = await measure(relay, r + 1)
      round[relay] = m
      console.error(
        `round ${r + 1}/${ROUNDS}: ${LABEL[relay]}: saturated ${m.saturated.rt_per_s} rt/s (p50 ${m.saturated.p50_ms} ms, p99 ${m.saturated.p99_ms} ms); ` +
          `paced ${m.paced.rt_per_s}/${RATE} rt/s: relay CPU ${m.paced.relay_cpu_us_per_rt} µs/rt (p50 ${m.paced.p50_ms} ms, p99 ${m.paced.p99_ms} ms${m.paced.skipped ? `, ${m.paced.skipped} sends skipped: the relay fell behind` : ''})`,
      )
    }
    const ref = round.reference?.saturated.rt_per_s
    for (const relay of RELAYS) if (ref && round[relay]) round.ratio[relay] = round2((round[relay] as Measured).saturated.rt_per_s / ref)
    rounds.push(round)
  }
  const summary = Object.fromEntries(
    RELAYS.map((relay) => {
      const of = (f: (m: Measured) => number | null) => med(rounds.map((r) => (r[relay] ? f(r[relay] as Measured) : null)))
      const refCpu = rounds.map((r) => r.reference?.paced.relay_cpu_us_per_rt ?? null)
      return [
        relay,
        {
          saturated_rt_per_s: of((m) => m.saturated.rt_per_s),
          ratio_to_reference: med(rounds.map((r) => r.ratio[relay] ?? null)),
          saturated_p50_ms: of((m) => m.saturated.p50_ms),
          saturated_p99_ms: of((m) => m.saturated.p99_ms),
          paced_rt_per_s: of((m) => m.paced.rt_per_s),
          paced_relay_cpu_us_per_rt: of((m) => m.paced.relay_cpu_us_per_rt),
          // per round against the reference of that round, then the median
          paced_cpu_ratio_to_reference: med(
            rounds.map((r, i) => {
              const mine = r[relay]?.paced.relay_cpu_us_per_rt
              const theirs = refCpu[i]
              return mine != null && theirs ? mine / theirs : null
            }),
          ),
          paced_p50_ms: of((m) => m.paced.p50_ms),
          paced_p99_ms: of((m) => m.paced.p99_ms),
          paced_skipped: of((m) => m.paced.skipped ?? 0),
          driver_cpu_us_per_rt_saturated: of((m) => m.saturated.driver_cpu_us_per_rt),
        },
      ]
    }),
  ) as unknown as Record<Relay, Record<string, number | null>>
  const targets = {ratio_text: '>= 1.0', ratio_json: '>= 0.9', paced_cpu: "<= the reference's (ratio <= 1)"}
  console.log(`\nthroughput: ${CONNECTIONS} connections × ${INFLIGHT} in flight (saturated), ${RATE} round trips/s offered (paced), ${SECONDS}s per measurement, ${ROUNDS} interleaved round(s): medians\n`)
  printTable(
    ['relay', 'saturated rt/s', 'ratio', 'p50 ms', 'p99 ms', `CPU µs/rt at ${RATE}/s`, 'CPU ratio', 'p50 ms', 'p99 ms', 'target'],
    RELAYS.map((relay) => {
      const s = summary[relay]
      const target = relay === 'text' ? `ratio ${targets.ratio_text}, CPU ratio <= 1` : relay === 'json' ? `ratio ${targets.ratio_json}, CPU ratio <= 1` : ''
      const behind = s.paced_skipped ? ` (behind: ${s.paced_skipped} skipped)` : ''
      return [LABEL[relay], s.saturated_rt_per_s ?? '-', s.ratio_to_reference ?? '-', s.saturated_p50_ms ?? '-', s.saturated_p99_ms ?? '-', `${s.paced_relay_cpu_us_per_rt ?? '-'}${behind}`, s.paced_cpu_ratio_to_reference ?? '-', s.paced_p50_ms ?? '-', s.paced_p99_ms ?? '-', target]
    }),
  )
  console.log(`\nload average at the end: ${machineInfo().loadavg_1m} (at the start: ${machine.loadavg_1m})`)
  const file = writeResult('throughput', {
    machine,
    loadavg_1m_end: machineInfo().loadavg_1m,
    params: {phases: PHASES, connections: CONNECTIONS, inflight: INFLIGHT, seconds: SECONDS, rounds: ROUNDS, rate: RATE, relays: RELAYS, warmup_ms: WARMUP_MS, node_args: NODE_ARGS, cpu_prof: CPU_PROF || null, baseline: BASELINE || null},
    targets,
    summary,
    rounds,
  })
  console.log(`written ${file}`)
}

await main()

/**
 * The relay's memory, and its CPU under a load test, against the bare-`ws`
 * reference relay (bench/reference-relay.ts) in the same run, in
 * interleaved rounds (A B, B A, ...):
 *
 * - idle: RSS per idle connection: the relay's RSS before and after N
 *   connections were opened (from this process, over 127.0.0.1–100) and left
 *   idle for a few seconds, divided by N; and the marginal cost, the RSS
 *   added by the second N/2 (the first ones also pay, once, for the heap
 *   growing from its start-up size, which a smaller start-up makes larger);
 * - load: `peerlink load` with C clients over a ramp at each ack delay
 *   against a fresh relay: the relay's peak RSS (VmHWM) and its CPU
 *   (user+system from /proc, from just before the load to its end) per
 *   client, and whether every client was acknowledged;
 * - slow: one client stops reading while another sends 400 × 512 KiB
 *   (bench/slow-reader.ts): the relay's RSS growth, what the stalled client
 *   held, and whether every message was acknowledged once it read again.
 *
 * The peerlink node runs as an operator runs it, `start --no-repl` (text
 * output, into a file); `--modes text,json` adds a node with `--json`.
 *
 *   npm run bench:memory -- [--idle 10000] [--clients 100000] [--ramp 60s] [--delays 0,0..1000ms]
 *                           [--rounds 3] [--parts idle,load,slow] [--modes text]
 *                           [--slow-messages 400] [--slow-bytes 524288]
 */
import {arg, machineInfo, median, peakRssBytes, printTable, procCpuMs, rssBytes, runPeerlinkLoad, startPeerlinkNode, startReferenceRelay, writeResult, type Server} from './common.js'
import {closeAll, openAll} from './roundtrips.js'
import {slowReader, type SlowReaderRun} from './slow-reader.js'

const IDLE = Number(arg('idle', '10000'))
/** the idle connections opened after the first half, whose RSS is the marginal figure */
const IDLE_SECOND_HALF = IDLE - Math.floor(IDLE / 2)
const CLIENTS = Number(arg('clients', '100000'))
const RAMP = arg('ramp', '60s')
const DELAYS = arg('delays', '0,0..1000ms').split(',')
const ROUNDS = Number(arg('rounds', '3'))
const PARTS = arg('parts', 'idle,load,slow').split(',')
const SLOW_MESSAGES = Number(arg('slow-messages', '400'))
const SLOW_BYTES = Number(arg('slow-bytes', String(512 * 1024)))
const MODES = arg('modes', 'text').split(',') as Array<'text' | 'json'>
/** Let the relay settle before and after opening the idle connections (the same for both relays). */
const SETTLE_MS = 5000

type Relay = 'reference' | 'text' | 'json'
const LABEL: Record<Relay, string> = {reference: 'reference (bare ws)', text: 'peerlink (text)', json: 'peerlink --json'}
const RELAYS: Relay[] = ['reference', ...MODES]

function start(relay: Relay): Promise<Server> {
  return relay === 'reference' ? startReferenceRelay() : startPeerlinkNode([], {json: relay === 'json'})
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const MB = 2 ** 20

interface Idle {
  baseline_mb: number
  loaded_mb: number
  /** (RSS with N open - RSS before) / N: what the table measures */
  per_connection_bytes: number
  /**
   * (RSS with N open - RSS with N/2 open) / (N/2): the cost of each further
   * connection, without what the first ones cost once (the heap growing
   * from its start-up size to a working size)
   */
  marginal_bytes: number
}

async function idle(relay: Relay): Promise<Idle> {
  const server = await start(relay)
  try {
    await sleep(SETTLE_MS)
    const before = rssBytes(server.pid)
    const sockets = await openAll(server.url, IDLE - IDLE_SECOND_HALF)
    await sleep(SETTLE_MS)
    const mid = rssBytes(server.pid)
    sockets.push(...(await openAll(server.url, IDLE_SECOND_HALF)))
    await sleep(SETTLE_MS)
    const after = rssBytes(server.pid)
    await closeAll(sockets)
    return {
      baseline_mb: Math.round(before / MB),
      loaded_mb: Math.round(after / MB),
      per_connection_bytes: Math.round((after - before) / IDLE),
      marginal_bytes: Math.round((after - mid) / IDLE_SECOND_HALF),
    }
  } finally {
    await server.stop()
  }
}

interface LoadRun {
  acked: number
  failed: number
  retries: number
  p99_ms: number | null
  code: number
  relay_peak_rss_mb: number
  relay_cpu_ms: number
  relay_cpu_ms_per_client: number
}

async function load(relay: Relay, delay: string): Promise<LoadRun> {
  const server = await start(relay)
  try {
    const cpuBefore = procCpuMs(server.pid)
    const {code, report} = await runPeerlinkLoad<{acked: number; failed: number; retries: number; latency_ms: {p99: number | null}}>(server.url, {clients: CLIENTS, ramp: RAMP, ackDelay: delay})
    const cpu = procCpuMs(server.pid) - cpuBefore
    return {
      acked: report.acked,
      failed: report.failed,
      retries: report.retries,
      p99_ms: report.latency_ms.p99,
      code,
      relay_peak_rss_mb: Math.round(peakRssBytes(server.pid) / MB),
      relay_cpu_ms: cpu,
      relay_cpu_ms_per_client: Math.round((cpu / CLIENTS) * 1000) / 1000,
    }
  } finally {
    await server.stop()
  }
}

async function slow(relay: Relay): Promise<SlowReaderRun> {
  const server = await start(relay)
  try {
    return await slowReader(server, SLOW_MESSAGES, SLOW_BYTES)
  } finally {
    await server.stop()
  }
}

const med = (vs: number[]) => (vs.length === 0 ? null : Math.round(median(vs) * 1000) / 1000)

async function main(): Promise<void> {
  const machine = machineInfo()
  const idleRounds: Array<Partial<Record<Relay, Idle>>> = []
  const loadRounds: Array<{delay: string; runs: Partial<Record<Relay, LoadRun>>}> = []
  const slowRounds: Array<Partial<Record<Relay, SlowReaderRun>>> = []
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? RELAYS : [...RELAYS].reverse()
    if (PARTS.includes('idle')) {
      const round: Partial<Record<Relay, Idle>> = {}
      for (const relay of order) {
        round[relay] = await idle(relay)
        console.error(`round ${r + 1}/${ROUNDS} idle: ${LABEL[relay]}: ${round[relay]?.baseline_mb} -> ${round[relay]?.loaded_mb} MB with ${IDLE} connections, ${((round[relay]?.per_connection_bytes ?? 0) / 1024).toFixed(2)} KB each, ${((round[relay]?.marginal_bytes ?? 0) / 1024).toFixed(2)} KB each of the second half`)
      }
      idleRounds.push(round)
    }
    if (PARTS.includes('slow')) {
      const round: Partial<Record<Relay, SlowReaderRun>> = {}
      for (const relay of order) {
        const run = await slow(relay)
        round[relay] = run
        console.error(
          `round ${r + 1}/${ROUNDS} slow reader, ${SLOW_MESSAGES} × ${SLOW_BYTES} B: ${LABEL[relay]}: RSS +${run.growth_mb} MB, stalled client held ${run.held_by_stalled}, closed ${run.stalled_closed ?? 'no'}, all acked ${run.all_acked} (${run.seconds} s)`,
        )
      }
      slowRounds.push(round)
    }
    if (PARTS.includes('load')) {
      for (const delay of DELAYS) {
        const runs: Partial<Record<Relay, LoadRun>> = {}
        for (const relay of order) {
          const run = await load(relay, delay)
          runs[relay] = run
          console.error(
            `round ${r + 1}/${ROUNDS} load ${CLIENTS}/${RAMP} ack delay ${delay}: ${LABEL[relay]}: acked ${run.acked}, failed ${run.failed}, retries ${run.retries}, p99 ${run.p99_ms} ms; relay peak RSS ${run.relay_peak_rss_mb} MB, CPU ${run.relay_cpu_ms_per_client} ms/client`,
          )
        }
        loadRounds.push({delay, runs})
      }
    }
  }
  const idleSummary = Object.fromEntries(
    RELAYS.map((relay) => {
      const rs = idleRounds.map((r) => r[relay]).filter((x): x is Idle => x !== undefined)
      return [relay, {per_connection_bytes: med(rs.map((x) => x.per_connection_bytes)), marginal_bytes: med(rs.map((x) => x.marginal_bytes)), baseline_mb: med(rs.map((x) => x.baseline_mb)), loaded_mb: med(rs.map((x) => x.loaded_mb))}]
    }),
  )
  const loadSummary = DELAYS.map((delay) => ({
    delay,
    ...Object.fromEntries(
      RELAYS.map((relay) => {
        const rs = loadRounds.filter((l) => l.delay === delay).map((l) => l.runs[relay]).filter((x): x is LoadRun => x !== undefined)
        return [
          relay,
          {
            runs: rs.length,
            all_acked: rs.every((x) => x.acked === CLIENTS && x.failed === 0),
            peak_rss_mb: med(rs.map((x) => x.relay_peak_rss_mb)),
            cpu_ms_per_client: med(rs.map((x) => x.relay_cpu_ms_per_client)),
            p99_ms: med(rs.map((x) => x.p99_ms).filter((v): v is number => v !== null)),
          },
        ]
      }),
    ),
  })) as Array<Record<string, unknown> & {delay: string}>
  const slowSummary = Object.fromEntries(
    RELAYS.map((relay) => {
      const rs = slowRounds.map((r) => r[relay]).filter((x): x is SlowReaderRun => x !== undefined)
      return [relay, {runs: rs.length, growth_mb: med(rs.map((x) => x.growth_mb)), held_by_stalled: med(rs.map((x) => x.held_by_stalled)), all_acked: rs.every((x) => x.all_acked)}]
    }),
  )

  console.log(`\nmemory: ${ROUNDS} interleaved round(s), medians; peerlink as ${MODES.map((m) => LABEL[m]).join(', ')}\n`)
  const rows: Array<Array<string | number>> = []
  if (PARTS.includes('idle')) {
    for (const relay of RELAYS) {
      const s = idleSummary[relay] as {per_connection_bytes: number | null; marginal_bytes: number | null}
      rows.push([`RSS per idle connection at ${IDLE}`, LABEL[relay], s.per_connection_bytes === null ? '-' : `${(s.per_connection_bytes / 1024).toFixed(2)} KB`, relay === 'reference' ? '' : '<= 6 KB'])
      rows.push([`  of the second ${IDLE_SECOND_HALF} (marginal)`, LABEL[relay], s.marginal_bytes === null ? '-' : `${(s.marginal_bytes / 1024).toFixed(2)} KB`, ''])
    }
  }
  if (PARTS.includes('load')) {
    for (const l of loadSummary) {
      for (const relay of RELAYS) {
        const s = l[relay] as {peak_rss_mb: number | null; cpu_ms_per_client: number | null; all_acked: boolean}
        const acked = s.all_acked ? '' : ' (NOT all acked)'
        if (l.delay === DELAYS[0]) rows.push([`relay peak RSS, ${CLIENTS}/${RAMP}, ack delay ${l.delay}`, LABEL[relay], `${s.peak_rss_mb ?? '-'} MB${acked}`, relay === 'reference' ? '' : '<= 110 MB'])
        rows.push([`relay CPU per client, ${CLIENTS}/${RAMP}, ack delay ${l.delay}`, LABEL[relay], `${s.cpu_ms_per_client ?? '-'} ms${acked}`, relay === 'reference' ? '' : "<= the reference's"])
      }
    }
  }
  if (PARTS.includes('slow')) {
    for (const relay of RELAYS) {
      const s = slowSummary[relay] as {growth_mb: number | null; held_by_stalled: number | null; all_acked: boolean}
      rows.push([
        `RSS growth, a stalled reader while ${SLOW_MESSAGES} × ${SLOW_BYTES / 1024} KiB go through`,
        LABEL[relay],
        `${s.growth_mb ?? '-'} MB (it held ${s.held_by_stalled ?? '-'}; ${s.all_acked ? 'all acked after' : 'NOT all acked'})`,
        relay === 'reference' ? '' : '<= 200 MB, all acked',
      ])
    }
  }
  printTable(['figure', 'relay', 'median', 'target'], rows)
  console.log(`\nload average at the end: ${machineInfo().loadavg_1m} (at the start: ${machine.loadavg_1m})`)
  const file = writeResult('memory', {
    machine,
    loadavg_1m_end: machineInfo().loadavg_1m,
    params: {slow_messages: SLOW_MESSAGES, slow_bytes: SLOW_BYTES, idle: IDLE, clients: CLIENTS, ramp: RAMP, delays: DELAYS, rounds: ROUNDS, parts: PARTS, modes: MODES, settle_ms: SETTLE_MS},
    targets: {rss_per_idle_connection_bytes: '<= 6144', peak_rss_mb_ack_delay_0: '<= 110', cpu_ms_per_client: "<= the reference's", slow_reader_growth_mb: '<= 200, all acknowledged'},
    idle: {summary: idleSummary, rounds: idleRounds},
    load: {summary: loadSummary, rounds: loadRounds},
    slow: {summary: slowSummary, rounds: slowRounds},
  })
  console.log(`written ${file}`)
}

await main()

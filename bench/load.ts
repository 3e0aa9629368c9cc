/**
 * The 100k-client load benchmark: `peerlink load` against a spawned node,
 * at ack delay 0 and again at 0..1000 ms, each run --runs times (medians).
 *
 *   npm run bench:load -- [--clients 100000] [--ramp 60s] [--runs 1] [--delays 0,0..1000ms]
 */
import {spawn} from 'node:child_process'
import {arg, benchEnv, machineInfo, median, printTable, RUN, rssBytes, startPeerlinkNode, writeResult} from './common.js'

const CLIENTS = arg('clients', '100000')
const RAMP = arg('ramp', '60s')
const RUNS = Number(arg('runs', '1'))
const DELAYS = arg('delays', '0,0..1000ms').split(',')

interface Report {
  acked: number
  failed: number
  retries: number
  latency_ms: {p50: number; p90: number; p99: number; max: number}
  connect_rate_per_s: number
  peak_connections: number
  zero_state: boolean
  ok: boolean
  problems: string[]
  workers: number
}

function runLoad(url: string, ackDelay: string): Promise<{code: number; report: Report}> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [RUN, 'load', url, '--clients', CLIENTS, '--ramp', RAMP, '--ack-delay', ackDelay, '--json'], {env: benchEnv(), stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    proc.on('close', (code) => {
      try {
        resolve({code: code ?? 1, report: JSON.parse(out) as Report})
      } catch {
        reject(new Error(`load exited ${code} without a JSON report:\n${out}`))
      }
    })
  })
}

async function main(): Promise<void> {
  const machine = machineInfo()
  const runs: Array<{ack_delay: string; run: number; code: number; report: Report; node_rss_mb_after: number}> = []
  for (const delay of DELAYS) {
    for (let r = 0; r < RUNS; r++) {
      // a fresh node for every run: each starts from zero state
      const node = await startPeerlinkNode()
      try {
        const {code, report} = await runLoad(node.url, delay)
        runs.push({ack_delay: delay, run: r + 1, code, report, node_rss_mb_after: Math.round(rssBytes(node.pid) / 2 ** 20)})
        console.error(`ack delay ${delay} run ${r + 1}/${RUNS}: exit ${code}, acked ${report.acked}/${CLIENTS}, p99 ${report.latency_ms.p99} ms${report.problems.length ? `, ${report.problems.join('; ')}` : ''}`)
      } finally {
        await node.stop()
      }
    }
  }
  const scenarios = DELAYS.map((delay) => {
    const rs = runs.filter((r) => r.ack_delay === delay).map((r) => r.report)
    const m = (f: (r: Report) => number) => Math.round(median(rs.map(f)) * 10) / 10
    return {
      ack_delay: delay,
      runs: rs.length,
      all_ok: rs.every((r) => r.ok),
      acked: m((r) => r.acked),
      failed: m((r) => r.failed),
      retries: m((r) => r.retries),
      p50_ms: m((r) => r.latency_ms.p50),
      p90_ms: m((r) => r.latency_ms.p90),
      p99_ms: m((r) => r.latency_ms.p99),
      max_ms: m((r) => r.latency_ms.max),
      connect_rate_per_s: m((r) => r.connect_rate_per_s),
      peak_connections: m((r) => r.peak_connections),
      zero_state: rs.every((r) => r.zero_state),
    }
  })
  console.log(`\nload: ${CLIENTS} clients, ramp ${RAMP}, ${RUNS} run(s) per ack delay (medians)\n`)
  printTable(
    ['ack delay', 'acked', 'failed', 'retries', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'conn/s', 'peak open', 'zero state', 'pass'],
    scenarios.map((s) => [s.ack_delay, s.acked, s.failed, s.retries, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.connect_rate_per_s, s.peak_connections, s.zero_state ? 'yes' : 'no', s.all_ok ? 'yes' : 'NO']),
  )
  const file = writeResult('load', {machine, params: {clients: Number(CLIENTS), ramp: RAMP, runs: RUNS, delays: DELAYS}, targets: {acked: '100%', failed: 0, zero_state: true, p99_ms_at_ack_delay_0: '< 50'}, scenarios, runs})
  console.log(`\nwritten ${file}`)
}

await main()

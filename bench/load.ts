/**
 * The load benchmark: `peerlink load` (and, with --generators, the reference
 * generator bench/reference-load.ts in the same run) against a fresh node per
 * run, at each ack delay, --runs times (medians). Generator CPU is measured
 * the same way for both: user+system of the whole process tree, from the
 * shell's `times` after the generator exits.
 *
 *   npm run bench:load -- [--clients 100000] [--ramp 60s] [--runs 1] [--delays 0,0..1000ms]
 *                         [--generators peerlink|reference,peerlink] [--targets ws://a/ws,ws://b/ws]
 *                         [--workers N] [--node-args "--max-payload 1MiB"]
 *
 * With --targets the benchmark spawns no node and loads those URLs instead
 * (e.g. the nodes of a cluster started beforehand); `peerlink load` still
 * checks every target's zero state.
 */
import {spawn} from 'node:child_process'
import path from 'node:path'
import {arg, benchEnv, machineInfo, median, printTable, procCpuMs, ROOT, RUN, rssBytes, startPeerlinkNode, writeResult, type Server} from './common.js'

const CLIENTS = arg('clients', '100000')
const RAMP = arg('ramp', '60s')
const RUNS = Number(arg('runs', '1'))
const DELAYS = arg('delays', '0,0..1000ms').split(',')
const GENERATORS = arg('generators', 'peerlink').split(',') as Generator[]
const TARGETS = arg('targets', '')
const WORKERS = arg('workers', '')
const NODE_ARGS = arg('node-args', '').split(' ').filter(Boolean)

type Generator = 'peerlink' | 'reference'

interface Report {
  acked: number
  failed: number
  retries: number
  latency_ms: {p50: number | null; p90: number | null; p99: number | null; max: number | null}
  connect_rate_per_s?: number | null
  peak_connections?: number
  zero_state?: boolean
  ok?: boolean
  problems?: string[]
  workers?: number
  duration_s: number
  saturated?: string[]
  generator?: {saturated: boolean; saturated_s: number; max_event_loop_delay_ms: number}
}

interface Run {
  generator: Generator
  ack_delay: string
  run: number
  code: number
  report: Report
  /** user+system CPU of the generator's whole process tree */
  cpu_ms: number
  cpu_ms_per_client: number
  wall_s: number
  /** wall time past the end of the ramp */
  tail_s: number
  node_cpu_ms: number | null
  node_rss_mb_after: number | null
}

function parseMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(d)
  if (!m) throw new Error(`bad duration ${d}`)
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'ms' ? 1 : 1000)
}

/** The largest ack delay of `0`, `250ms` or `0..1000ms`, in ms. */
function maxDelayMs(delay: string): number {
  return parseMs(delay.split('..').at(-1) as string)
}

/** Runs `cmd args` under bash, then reads `times`: the CPU of every descendant it waited for. */
function runTimed(cmd: string, args: string[]): Promise<{code: number; out: string; cpuMs: number; wallS: number}> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const script = '"$@" >&3; rc=$?; times >&2; exit $rc'
    const proc = spawn('bash', ['-c', script, 'bash', cmd, ...args], {env: benchEnv(), stdio: ['ignore', 'inherit', 'pipe', 'pipe'], cwd: ROOT})
    let out = ''
    let err = ''
    proc.stdio[3]?.on('data', (d: Buffer) => (out += d.toString()))
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    proc.on('error', reject)
    proc.on('close', (code) => {
      // times prints two lines: the shell's own user/sys, then its children's
      const lines = err.trim().split('\n')
      const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines.at(-1) ?? '')
      if (!m) return reject(new Error(`no CPU times from the generator:\n${err}`))
      const cpuMs = Math.round((Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000)
      const rest = lines.slice(0, -2).join('\n')
      if (rest.trim()) process.stderr.write(`${rest}\n`)
      resolve({code: code ?? 1, out, cpuMs, wallS: (Date.now() - started) / 1000})
    })
  })
}

function generatorCommand(g: Generator, urls: string[], delay: string): [string, string[]] {
  if (g === 'reference') return [process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'reference-load.ts'), urls.join(','), CLIENTS, String(parseMs(RAMP)), String(maxDelayMs(delay))]]
  const workers = WORKERS ? ['--workers', WORKERS] : []
  return [process.execPath, [RUN, 'load', ...urls, '--clients', CLIENTS, '--ramp', RAMP, '--ack-delay', delay, ...workers, '--json']]
}

async function oneRun(g: Generator, delay: string, r: number): Promise<Run> {
  // a fresh node for every run, so each starts from zero state (unless the targets are given)
  const node: Server | undefined = TARGETS ? undefined : await startPeerlinkNode(NODE_ARGS)
  const urls = TARGETS ? TARGETS.split(',') : [node!.url]
  try {
    const nodeCpuBefore = node ? procCpuMs(node.pid) : 0
    const [cmd, args] = generatorCommand(g, urls, delay)
    const {code, out, cpuMs, wallS} = await runTimed(cmd, args)
    let report: Report
    try {
      report = JSON.parse(out) as Report
    } catch {
      throw new Error(`${g} exited ${code} without a JSON report:\n${out}`)
    }
    const run: Run = {
      generator: g,
      ack_delay: delay,
      run: r,
      code,
      report,
      cpu_ms: cpuMs,
      cpu_ms_per_client: Math.round((cpuMs / Number(CLIENTS)) * 1000) / 1000,
      wall_s: Math.round(wallS * 10) / 10,
      tail_s: Math.round((wallS - parseMs(RAMP) / 1000) * 10) / 10,
      node_cpu_ms: node ? procCpuMs(node.pid) - nodeCpuBefore : null,
      node_rss_mb_after: node ? Math.round(rssBytes(node.pid) / 2 ** 20) : null,
    }
    const sat = report.saturated?.length ? `, saturated: ${report.saturated.join(', ')}` : ''
    console.error(`${g} ack delay ${delay} run ${r}/${RUNS}: exit ${code}, acked ${report.acked}/${CLIENTS}, failed ${report.failed}, retries ${report.retries}, p99 ${report.latency_ms.p99} ms, CPU ${run.cpu_ms_per_client} ms/client, ${run.tail_s}s after the ramp${sat}${report.problems?.length ? `; ${report.problems.join('; ')}` : ''}`)
    return run
  } finally {
    await node?.stop()
  }
}

async function main(): Promise<void> {
  const machine = machineInfo()
  const runs: Run[] = []
  for (const delay of DELAYS) {
    for (let r = 1; r <= RUNS; r++) {
      // alternate which generator goes first, so neither always gets the quieter machine
      const order = r % 2 === 1 ? GENERATORS : [...GENERATORS].reverse()
      for (const g of order) runs.push(await oneRun(g, delay, r))
    }
  }
  const m = (rs: Run[], f: (r: Run) => number | null | undefined) => {
    const vs = rs.map(f).filter((v): v is number => typeof v === 'number')
    return vs.length === 0 ? null : Math.round(median(vs) * 1000) / 1000
  }
  const scenarios = DELAYS.flatMap((delay) =>
    GENERATORS.map((g) => {
      const rs = runs.filter((r) => r.ack_delay === delay && r.generator === g)
      return {
        generator: g,
        ack_delay: delay,
        runs: rs.length,
        all_acked: rs.every((r) => r.report.acked === Number(CLIENTS) && r.report.failed === 0),
        all_ok: rs.every((r) => r.code === 0),
        acked: m(rs, (r) => r.report.acked),
        failed: m(rs, (r) => r.report.failed),
        retries: m(rs, (r) => r.report.retries),
        p50_ms: m(rs, (r) => r.report.latency_ms.p50),
        p90_ms: m(rs, (r) => r.report.latency_ms.p90),
        p99_ms: m(rs, (r) => r.report.latency_ms.p99),
        max_ms: m(rs, (r) => r.report.latency_ms.max),
        cpu_ms_per_client: m(rs, (r) => r.cpu_ms_per_client),
        tail_s: m(rs, (r) => r.tail_s),
        node_cpu_s: m(rs, (r) => (r.node_cpu_ms === null ? null : r.node_cpu_ms / 1000)),
        peak_connections: m(rs, (r) => r.report.peak_connections),
        workers: m(rs, (r) => r.report.workers),
        saturated: [...new Set(rs.flatMap((r) => r.report.saturated ?? []))],
        zero_state: g === 'peerlink' ? rs.every((r) => r.report.zero_state) : null,
      }
    }),
  )
  // generator CPU per client of peerlink load over the reference's, per ack delay (target ≤ 1)
  const ratios = DELAYS.map((delay) => {
    const of = (g: Generator) => scenarios.find((s) => s.ack_delay === delay && s.generator === g)?.cpu_ms_per_client ?? null
    const p = of('peerlink')
    const ref = of('reference')
    return {ack_delay: delay, cpu_per_client_ratio: p !== null && ref !== null && ref > 0 ? Math.round((p / ref) * 100) / 100 : null}
  })
  console.log(`\nload: ${CLIENTS} clients, ramp ${RAMP}, ${RUNS} run(s) per ack delay and generator (medians)${TARGETS ? `, targets ${TARGETS}` : ''}\n`)
  printTable(
    ['generator', 'ack delay', 'acked', 'failed', 'retries', 'p50 ms', 'p99 ms', 'max ms', 'CPU ms/client', 's after ramp', 'node CPU s', 'workers', 'saturated', 'pass'],
    scenarios.map((s) => [s.generator, s.ack_delay, s.acked ?? '-', s.failed ?? '-', s.retries ?? '-', s.p50_ms ?? '-', s.p99_ms ?? '-', s.max_ms ?? '-', s.cpu_ms_per_client ?? '-', s.tail_s ?? '-', s.node_cpu_s ?? '-', s.workers ?? '-', s.saturated.join(' ') || '-', s.all_acked ? 'yes' : 'NO']),
  )
  if (GENERATORS.includes('reference') && GENERATORS.includes('peerlink')) {
    console.log('')
    for (const r of ratios) console.log(`ack delay ${r.ack_delay}: peerlink load CPU per client / reference = ${r.cpu_per_client_ratio ?? '-'} (target ≤ 1)`)
  }
  const file = writeResult('load', {
    machine,
    params: {clients: Number(CLIENTS), ramp: RAMP, runs: RUNS, delays: DELAYS, generators: GENERATORS, targets: TARGETS || null, workers: WORKERS || null, node_args: NODE_ARGS},
    targets: {acked: '100%', failed: 0, zero_state: true, p99_ms_at_ack_delay_0: '< 50 (100k)', cpu_per_client_ratio: '<= 1 against the reference', tail_s: 'past the box limit: ends within 120 s of the ramp, saturated side named'},
    scenarios,
    ratios,
    runs,
  })
  console.log(`\nwritten ${file}`)
}

await main()

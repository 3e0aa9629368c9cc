/**
 * The cluster benchmarks (issue 10), each against a real nats-server started
 * here on a free port:
 *
 *  hold        N connections held at once through `--workers W` on one port:
 *              all open, /stats cluster connections = N, RSS per connection
 *              summed over the workers; then all closed, cluster zero state.
 *  load        `peerlink load` (C clients over a ramp) through a 2-worker
 *              cluster and through a single process, same run, at each ack
 *              delay: acked, failed, p99 side by side, cluster zero state.
 *  roundtrips  message→ok round trips/s through 1 node and through 2 nodes of
 *              a cluster (connections alternating between them), same run,
 *              alternating the order; the ratio and the cost of the hop.
 *
 *   npm run bench:cluster -- [--parts hold,load,roundtrips] [--hold 100000] [--hold-workers 6]
 *     [--clients 100000] [--ramp 60s] [--delays 0,0..1000ms] [--connections 1000] [--seconds 20] [--rounds 3]
 */
import {fork, spawn, type ChildProcess} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {arg, machineInfo, median, printTable, ROOT, rssBytes, runPeerlinkLoad, startPeerlinkNode, statsOf, writeResult, type Server} from './common.js'
import {measureRoundTrips} from './roundtrips.js'
import {freePort} from '../test/helpers/ports.js'

const PARTS = arg('parts', 'hold,load,roundtrips').split(',')
const HOLD = Number(arg('hold', '100000'))
const HOLD_WORKERS = Number(arg('hold-workers', '6'))
/** connections per holding client process: well under the open-file limit of 20 000 */
const PER_HOLDER = 14_000
const CLIENTS = arg('clients', '100000')
const RAMP = arg('ramp', '60s')
const DELAYS = arg('delays', '0,0..1000ms').split(',')
const CONNECTIONS = Number(arg('connections', '1000'))
const SECONDS = Number(arg('seconds', '20'))
const ROUNDS = Number(arg('rounds', '3'))
const WARMUP_MS = 2000
const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server'

interface Nats {
  url: string
  stop(): Promise<void>
}


async function startNats(): Promise<Nats> {
  const port = await freePort()
  const proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], {stdio: ['ignore', 'ignore', 'pipe']})
  await new Promise<void>((resolve, reject) => {
    let log = ''
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString()
      if (/Server is ready/.test(log)) resolve()
    })
    proc.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${log}`)))
    proc.once('error', reject)
  })
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: () =>
      new Promise((done) => {
        if (proc.exitCode !== null) return done()
        proc.once('exit', () => done())
        proc.kill('SIGKILL')
      }),
  }
}

interface ClusterView {
  nodes: number
  connections: number
  pending: number
}

async function clusterView(port: number): Promise<ClusterView> {
  const body = await statsOf<{cluster?: ClusterView}>(port)
  if (!body.cluster) throw new Error(`the node on ${port} is not clustered`)
  return body.cluster
}

/** Polls /stats until `ok`; returns the last view and how long it took. Bounded by `timeoutMs`. */
async function until(port: number, ok: (c: ClusterView) => boolean, timeoutMs: number): Promise<{view: ClusterView; ms: number; reached: boolean}> {
  const t0 = Date.now()
  for (;;) {
    const view = await clusterView(port)
    if (ok(view)) return {view, ms: Date.now() - t0, reached: true}
    if (Date.now() - t0 > timeoutMs) return {view, ms: Date.now() - t0, reached: false}
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The pids of a process's children (the workers of a `--workers` primary). */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // the second field (comm) may hold spaces: ppid is the second field after its closing parenthesis
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

function summedRss(pids: number[]): number {
  return pids.reduce((sum, p) => sum + rssBytes(p), 0)
}

async function clusterNode(nats: Nats, name: string, extra: string[] = []): Promise<Server> {
  return startPeerlinkNode(['--name', name, '--cluster', nats.url, ...extra])
}

async function hold(): Promise<Record<string, unknown>> {
  const nats = await startNats()
  const node = await clusterNode(nats, 'hold', ['--workers', String(HOLD_WORKERS)])
  const holders: ChildProcess[] = []
  try {
    await until(node.port, (c) => c.nodes === HOLD_WORKERS, 30_000)
    const workers = childrenOf(node.pid)
    const rssBefore = summedRss(workers)
    const t0 = Date.now()
    const shares = Array.from({length: Math.ceil(HOLD / PER_HOLDER)}, (_, i) => Math.min(PER_HOLDER, HOLD - i * PER_HOLDER))
    const opened = await Promise.all(
      shares.map(
        (n) =>
          new Promise<number>((resolve, reject) => {
            const child = fork(path.join(ROOT, 'bench', 'hold-clients.ts'), [], {execArgv: ['--import', 'tsx'], cwd: ROOT})
            holders.push(child)
            child.on('message', (m: {type: string; n?: number; error?: string}) => {
              if (m.type === 'opened') resolve(m.n ?? 0)
              if (m.type === 'failed') reject(new Error(`a holding process could not open its connections: ${m.error}`))
            })
            child.send({type: 'open', job: {url: node.url, n}})
          }),
      ),
    )
    const openMs = Date.now() - t0
    const all = await until(node.port, (c) => c.connections === HOLD, 60_000)
    // let the workers settle (buffers allocated on open are part of the cost) before reading RSS
    await new Promise((r) => setTimeout(r, 3000))
    const rssAfter = summedRss(workers)
    const t1 = Date.now()
    await Promise.all(
      holders.map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve())
            child.send({type: 'close'})
          }),
      ),
    )
    const zero = await until(node.port, (c) => c.connections === 0 && c.pending === 0, 60_000)
    return {
      connections: HOLD,
      workers: HOLD_WORKERS,
      opened: opened.reduce((a, b) => a + b, 0),
      open_s: Math.round(openMs / 100) / 10,
      cluster_connections_seen: all.view.connections,
      all_open: all.reached,
      workers_rss_mb_before: Math.round(rssBefore / 2 ** 20),
      workers_rss_mb_after: Math.round(rssAfter / 2 ** 20),
      rss_per_connection_bytes: Math.round((rssAfter - rssBefore) / HOLD),
      zero_state: zero.reached,
      zero_state_after_close_s: Math.round((Date.now() - t1) / 100) / 10,
    }
  } finally {
    for (const h of holders) if (h.exitCode === null) h.kill('SIGKILL')
    await node.stop()
    await nats.stop()
  }
}

interface LoadReport {
  acked: number
  failed: number
  retries: number
  latency_ms: {p50: number; p90: number; p99: number; max: number}
  zero_state: boolean
  ok: boolean
  problems: string[]
}

async function runLoad(url: string, ackDelay: string): Promise<LoadReport> {
  return (await runPeerlinkLoad<LoadReport>(url, {clients: CLIENTS, ramp: RAMP, ackDelay})).report
}

async function load(): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = []
  for (const delay of DELAYS) {
    // the single process first, then the cluster, each from a fresh start
    const single = await startPeerlinkNode()
    let one: LoadReport
    try {
      one = await runLoad(single.url, delay)
    } finally {
      await single.stop()
    }
    const nats = await startNats()
    const node = await clusterNode(nats, 'load', ['--workers', '2'])
    let two: LoadReport
    let zero: {reached: boolean; view: ClusterView}
    try {
      await until(node.port, (c) => c.nodes === 2, 30_000)
      two = await runLoad(node.url, delay)
      zero = await until(node.port, (c) => c.connections === 0 && c.pending === 0, 10_000)
    } finally {
      await node.stop()
      await nats.stop()
    }
    console.error(`ack delay ${delay}: single p99 ${one.latency_ms.p99} ms (acked ${one.acked}), 2-worker cluster p99 ${two.latency_ms.p99} ms (acked ${two.acked}, failed ${two.failed})`)
    rows.push({
      ack_delay: delay,
      clients: Number(CLIENTS),
      single: {acked: one.acked, failed: one.failed, retries: one.retries, p50_ms: one.latency_ms.p50, p99_ms: one.latency_ms.p99, max_ms: one.latency_ms.max, ok: one.ok},
      cluster: {acked: two.acked, failed: two.failed, retries: two.retries, p50_ms: two.latency_ms.p50, p99_ms: two.latency_ms.p99, max_ms: two.latency_ms.max, ok: two.acked === Number(CLIENTS) && two.failed === 0, problems: two.problems},
      cluster_zero_state: zero.reached,
    })
  }
  return rows
}

async function roundtrips(): Promise<Record<string, unknown>> {
  const rounds: Array<{one_node: number; two_nodes: number; ratio: number}> = []
  for (let r = 0; r < ROUNDS; r++) {
    const order: Array<'one' | 'two'> = r % 2 === 0 ? ['one', 'two'] : ['two', 'one']
    const result: Record<string, number> = {}
    for (const which of order) {
      const opts = {connections: CONNECTIONS, seconds: SECONDS, warmupMs: WARMUP_MS, tag: `${which}${r}`}
      if (which === 'one') {
        const node = await startPeerlinkNode()
        try {
          result.one = (await measureRoundTrips([node.url], opts)).rt_per_s
        } finally {
          await node.stop()
        }
      } else {
        const nats = await startNats()
        const a = await clusterNode(nats, 'rt-a')
        const b = await clusterNode(nats, 'rt-b')
        try {
          await until(a.port, (c) => c.nodes === 2, 30_000)
          await until(b.port, (c) => c.nodes === 2, 30_000)
          result.two = (await measureRoundTrips([a.url, b.url], opts)).rt_per_s
        } finally {
          await Promise.all([a.stop(), b.stop()])
          await nats.stop()
        }
      }
      console.error(`round ${r + 1}/${ROUNDS}: ${which === 'one' ? '1 node' : '2 nodes'} ${result[which]} round trips/s`)
    }
    rounds.push({one_node: result.one, two_nodes: result.two, ratio: Math.round((result.two / result.one) * 100) / 100})
  }
  return {
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds,
    one_node_rt_per_s: median(rounds.map((r) => r.one_node)),
    two_nodes_rt_per_s: median(rounds.map((r) => r.two_nodes)),
    ratio: median(rounds.map((r) => r.ratio)),
  }
}

async function main(): Promise<void> {
  const machine = machineInfo()
  const result: Record<string, unknown> = {machine, params: {parts: PARTS, hold: HOLD, hold_workers: HOLD_WORKERS, clients: Number(CLIENTS), ramp: RAMP, delays: DELAYS, connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS}}
  if (PARTS.includes('hold')) {
    const h = await hold()
    result.hold = h
    console.log(`\nhold: ${HOLD} connections through --workers ${HOLD_WORKERS} on one port\n`)
    printTable(
      ['metric', 'value'],
      [
        ['opened', `${h.opened} in ${h.open_s} s`],
        ['/stats cluster connections', `${h.cluster_connections_seen}${h.all_open ? '' : ' (NOT all)'}`],
        ['workers RSS before → after', `${h.workers_rss_mb_before} → ${h.workers_rss_mb_after} MB`],
        ['RSS per connection (summed over workers)', `${((h.rss_per_connection_bytes as number) / 1024).toFixed(1)} KB`],
        ['cluster zero state after closing', h.zero_state ? `yes (${h.zero_state_after_close_s} s)` : 'NO'],
      ],
    )
  }
  if (PARTS.includes('load')) {
    const rows = await load()
    result.load = rows
    console.log(`\nload: ${CLIENTS} clients, ramp ${RAMP}, single process vs a 2-worker cluster\n`)
    printTable(
      ['ack delay', 'single acked', 'single p99 ms', 'cluster acked', 'cluster failed', 'cluster retries', 'cluster p99 ms', 'cluster zero state'],
      rows.map((r) => {
        const s = r.single as {acked: number; p99_ms: number}
        const c = r.cluster as {acked: number; failed: number; retries: number; p99_ms: number}
        return [r.ack_delay as string, s.acked, s.p99_ms, c.acked, c.failed, c.retries, c.p99_ms, r.cluster_zero_state ? 'yes' : 'NO']
      }),
    )
  }
  if (PARTS.includes('roundtrips')) {
    const rt = await roundtrips()
    result.roundtrips = rt
    const one = rt.one_node_rt_per_s as number
    const two = rt.two_nodes_rt_per_s as number
    console.log(`\nround trips: ${CONNECTIONS} connections, ${SECONDS} s per measurement, ${ROUNDS} round(s) (medians)\n`)
    printTable(
      ['metric', 'value'],
      [
        ['1 node, round trips/s', one],
        ['2 nodes of a cluster, round trips/s', two],
        ['ratio 2 nodes / 1 node', rt.ratio as number],
        // half of the messages cross (uniform over both nodes' connections), so a crossing costs twice the average extra
        ['extra wall time per round trip (1/two − 1/one)', `${(1e6 / two - 1e6 / one).toFixed(1)} µs`],
        ['… per message that crosses (half of them do)', `${(2 * (1e6 / two - 1e6 / one)).toFixed(1)} µs`],
      ],
    )
  }
  const file = writeResult('cluster', result)
  console.log(`\nwritten ${file}`)
}

await main()

/**
 * The cost of the durable outbox: full `message`→`ok` round trips per second
 * through one peer link, with the outbox on disk (sender: durable outbox;
 * receiver: a node with its state directory, so its seen log is written too)
 * and with `--ephemeral` (both in memory), in the same run, alternating which
 * goes first; the ratio per round and the medians. Then a burst: N messages
 * handed to the link at once, the time until all are acknowledged and how many
 * commits (one fsync each) the sender's store made for them.
 *
 * The receiver is a spawned `peerlink start` node; the sender is a `OutboundLink` in
 * this process (what a node's peer link is), keeping `--window` messages in
 * flight.
 *
 *   npm run bench:outbox -- [--seconds 10] [--window 100] [--rounds 3] [--burst 10000]
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {OutboundLink} from '../src/client/outbound-link.js'
import {MemoryOutbox, type Outbox} from '../src/client/outbox.js'
import {DurableOutbox} from '../src/outbox/durable.js'
import {StateStore} from '../src/outbox/store.js'
import {arg, machineInfo, median, printTable, startPeerlinkNode, TOKEN, writeResult} from './common.js'

const SECONDS = Number(arg('seconds', '10'))
const WINDOW = Number(arg('window', '100'))
const ROUNDS = Number(arg('rounds', '3'))
const BURST = Number(arg('burst', '10000'))
const WARMUP_MS = 1000

type Mode = 'ephemeral' | 'durable'

interface Measured {
  rt_per_s: number
  /** CPU time of sender and receiver together per round trip: what the outbox costs on a machine that others load too */
  cpu_us_per_rt: number
  burst_ms: number
  /** commits of the sender's store during the burst (0 in memory) */
  burst_commits: number
  /** fsyncs of the sender's WAL during the burst */
  burst_syncs: number
}

async function measure(mode: Mode, tag: string): Promise<Measured> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'peerlink-bench-outbox-'))
  const rx = await startPeerlinkNode(mode === 'ephemeral' ? ['--ephemeral'] : ['--state', path.join(home, 'rx')])
  const store = mode === 'durable' ? StateStore.open({dir: path.join(home, 'tx'), identity: true}) : undefined
  const outbox: Outbox = store ? new DurableOutbox(store) : new MemoryOutbox()
  const link = new OutboundLink({url: rx.url, hello: {id: store?.id, name: 'bench-tx', role: 'node'}, token: TOKEN, ackTimeoutMs: 60_000, outbox})
  try {
    await new Promise<void>((resolve) => {
      link.once('up', () => resolve())
      link.start()
    })

    // steady: WINDOW messages in flight, the next one sent as each ok comes back
    let seq = 0
    let counting = false
    let count = 0
    let running = true
    const onAcked = () => {
      if (counting) count++
      if (running) link.send(`${tag}-${seq++}`)
    }
    link.on('acked', onAcked)
    for (let i = 0; i < WINDOW; i++) link.send(`${tag}-${seq++}`)
    await sleep(WARMUP_MS)
    counting = true
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const rxCpu0 = cpuMicros(rx.pid)
    await sleep(SECONDS * 1000)
    counting = false
    const rtPerS = count / ((performance.now() - t0) / 1000)
    const cpu = process.cpuUsage(cpu0)
    const cpuUs = cpu.user + cpu.system + (cpuMicros(rx.pid) - rxCpu0)
    running = false
    link.off('acked', onAcked)
    await link.settled(60_000)

    // burst: BURST lines at once, as a pipe into `start` delivers them
    const commitsBefore = store?.writer.commits ?? 0
    const syncsBefore = store?.writer.syncs ?? 0
    const b0 = performance.now()
    for (let i = 0; i < BURST; i++) link.send(`${tag}-burst-${i}`)
    await link.settled(120_000)
    const burstMs = performance.now() - b0
    return {rt_per_s: Math.round(rtPerS), cpu_us_per_rt: Math.round((cpuUs / count) * 10) / 10, burst_ms: Math.round(burstMs), burst_commits: (store?.writer.commits ?? 0) - commitsBefore, burst_syncs: (store?.writer.syncs ?? 0) - syncsBefore}
  } finally {
    await link.close()
    store?.close()
    await rx.stop()
    rmSync(home, {recursive: true, force: true})
  }
}

/** CPU time (user + system) a process has used, in microseconds (Linux /proc; clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
  // after the command name: state is field 3, utime 14 and stime 15 (1-based, counting pid and comm)
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

function round1(x: number): number {
  return Math.round(x * 10) / 10
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

async function main(): Promise<void> {
  const machine = machineInfo()
  const rounds: Array<{ephemeral: Measured; durable: Measured; ratio: number; cpu_ratio: number}> = []
  for (let r = 0; r < ROUNDS; r++) {
    const order: Mode[] = r % 2 === 0 ? ['ephemeral', 'durable'] : ['durable', 'ephemeral']
    const got: Partial<Record<Mode, Measured>> = {}
    for (const mode of order) got[mode] = await measure(mode, `r${r}-${mode}`)
    const ephemeral = got.ephemeral as Measured
    const durable = got.durable as Measured
    rounds.push({
      ephemeral,
      durable,
      ratio: Math.round((durable.rt_per_s / ephemeral.rt_per_s) * 100) / 100,
      cpu_ratio: Math.round((durable.cpu_us_per_rt / ephemeral.cpu_us_per_rt) * 100) / 100,
    })
    console.error(`round ${r + 1}/${ROUNDS}: ephemeral ${ephemeral.rt_per_s}/s, durable ${durable.rt_per_s}/s`)
  }
  const summary = {
    ephemeral_rt_per_s: median(rounds.map((r) => r.ephemeral.rt_per_s)),
    durable_rt_per_s: median(rounds.map((r) => r.durable.rt_per_s)),
    ratio: Math.round(median(rounds.map((r) => r.ratio)) * 100) / 100,
    ephemeral_cpu_us_per_rt: round1(median(rounds.map((r) => r.ephemeral.cpu_us_per_rt))),
    durable_cpu_us_per_rt: round1(median(rounds.map((r) => r.durable.cpu_us_per_rt))),
    cpu_ratio: Math.round(median(rounds.map((r) => r.cpu_ratio)) * 100) / 100,
    burst_ephemeral_ms: median(rounds.map((r) => r.ephemeral.burst_ms)),
    burst_durable_ms: median(rounds.map((r) => r.durable.burst_ms)),
    burst_durable_commits: median(rounds.map((r) => r.durable.burst_commits)),
    burst_durable_syncs: median(rounds.map((r) => r.durable.burst_syncs)),
  }
  console.log(`\noutbox: one link, ${WINDOW} messages in flight, ${SECONDS}s per measurement, burst of ${BURST}, ${ROUNDS} round(s) (medians)\n`)
  printTable(
    ['round', 'ephemeral rt/s', 'durable rt/s', 'ratio', 'CPU µs/rt eph.', 'CPU µs/rt dur.', 'CPU ratio', `burst ${BURST} eph.`, 'burst dur.', 'burst commits', 'burst fsyncs'],
    [
      ...rounds.map((r, i) => [
        i + 1,
        r.ephemeral.rt_per_s,
        r.durable.rt_per_s,
        r.ratio,
        r.ephemeral.cpu_us_per_rt,
        r.durable.cpu_us_per_rt,
        r.cpu_ratio,
        `${r.ephemeral.burst_ms} ms`,
        `${r.durable.burst_ms} ms`,
        r.durable.burst_commits,
        r.durable.burst_syncs,
      ]),
      [
        'median',
        summary.ephemeral_rt_per_s,
        summary.durable_rt_per_s,
        summary.ratio,
        summary.ephemeral_cpu_us_per_rt,
        summary.durable_cpu_us_per_rt,
        summary.cpu_ratio,
        `${summary.burst_ephemeral_ms} ms`,
        `${summary.burst_durable_ms} ms`,
        summary.burst_durable_commits,
        summary.burst_durable_syncs,
      ],
    ],
  )
  const file = writeResult('outbox', {machine, params: {seconds: SECONDS, window: WINDOW, rounds: ROUNDS, burst: BURST, warmup_ms: WARMUP_MS}, rounds, summary})
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`)
}

await main()

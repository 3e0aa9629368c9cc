/**
 * The cost of the durable outbox: full `message`→`ok` round trips per second
 * through one peer link, with the outbox on disk (sender: durable outbox;
 * receiver: a node with its state directory, so its seen log is written too)
 * and with `--ephemeral` (both in memory), in the same run, alternating which
 * goes first; the ratio per round and the medians. Then a burst: N messages
 * handed to the link at once, the time until all are acknowledged and how many
 * commits (one fsync each) the sender's store made for them.
 *
 * The receiver is a spawned `peerlink start` node; the sender is a `Link` in
 * this process (what a node's peer link is), keeping `--window` messages in
 * flight.
 *
 *   npm run bench:outbox -- [--seconds 10] [--window 100] [--rounds 3] [--burst 10000]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Link} from '../src/client/link.js'
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
  burst_ms: number
  /** commits of the sender's store during the burst (0 in memory) */
  burst_commits: number
}

async function measure(mode: Mode, tag: string): Promise<Measured> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'peerlink-bench-outbox-'))
  const rx = await startPeerlinkNode(mode === 'ephemeral' ? ['--ephemeral'] : ['--state', path.join(home, 'rx')])
  const store = mode === 'durable' ? StateStore.open({dir: path.join(home, 'tx'), identity: true}) : undefined
  const outbox: Outbox = store ? new DurableOutbox(store) : new MemoryOutbox()
  const link = new Link({url: rx.url, hello: {id: store?.id, name: 'bench-tx', role: 'node'}, token: TOKEN, ackTimeoutMs: 60_000, outbox})
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
    await sleep(SECONDS * 1000)
    counting = false
    const rtPerS = count / ((performance.now() - t0) / 1000)
    running = false
    link.off('acked', onAcked)
    await link.settled(60_000)

    // burst: BURST lines at once, as a pipe into `start` delivers them
    const commitsBefore = store?.writer.commits ?? 0
    const b0 = performance.now()
    for (let i = 0; i < BURST; i++) link.send(`${tag}-burst-${i}`)
    await link.settled(120_000)
    const burstMs = performance.now() - b0
    return {rt_per_s: Math.round(rtPerS), burst_ms: Math.round(burstMs), burst_commits: (store?.writer.commits ?? 0) - commitsBefore}
  } finally {
    await link.close()
    store?.close()
    await rx.stop()
    rmSync(home, {recursive: true, force: true})
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

async function main(): Promise<void> {
  const machine = machineInfo()
  const rounds: Array<{ephemeral: Measured; durable: Measured; ratio: number}> = []
  for (let r = 0; r < ROUNDS; r++) {
    const order: Mode[] = r % 2 === 0 ? ['ephemeral', 'durable'] : ['durable', 'ephemeral']
    const got: Partial<Record<Mode, Measured>> = {}
    for (const mode of order) got[mode] = await measure(mode, `r${r}-${mode}`)
    const ephemeral = got.ephemeral as Measured
    const durable = got.durable as Measured
    rounds.push({ephemeral, durable, ratio: Math.round((durable.rt_per_s / ephemeral.rt_per_s) * 100) / 100})
    console.error(`round ${r + 1}/${ROUNDS}: ephemeral ${ephemeral.rt_per_s}/s, durable ${durable.rt_per_s}/s`)
  }
  const summary = {
    ephemeral_rt_per_s: median(rounds.map((r) => r.ephemeral.rt_per_s)),
    durable_rt_per_s: median(rounds.map((r) => r.durable.rt_per_s)),
    ratio: median(rounds.map((r) => r.ratio)),
    burst_ephemeral_ms: median(rounds.map((r) => r.ephemeral.burst_ms)),
    burst_durable_ms: median(rounds.map((r) => r.durable.burst_ms)),
    burst_durable_commits: median(rounds.map((r) => r.durable.burst_commits)),
  }
  console.log(`\noutbox: one link, ${WINDOW} messages in flight, ${SECONDS}s per measurement, burst of ${BURST}, ${ROUNDS} round(s) (medians)\n`)
  printTable(
    ['round', 'ephemeral rt/s', 'durable rt/s', 'ratio', `burst ${BURST} ephemeral`, 'burst durable', 'burst commits'],
    [
      ...rounds.map((r, i) => [i + 1, r.ephemeral.rt_per_s, r.durable.rt_per_s, r.ratio, `${r.ephemeral.burst_ms} ms`, `${r.durable.burst_ms} ms`, r.durable.burst_commits]),
      ['median', summary.ephemeral_rt_per_s, summary.durable_rt_per_s, summary.ratio, `${summary.burst_ephemeral_ms} ms`, `${summary.burst_durable_ms} ms`, summary.burst_durable_commits],
    ],
  )
  const file = writeResult('outbox', {machine, params: {seconds: SECONDS, window: WINDOW, rounds: ROUNDS, burst: BURST, warmup_ms: WARMUP_MS}, rounds, summary})
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`)
}

await main()

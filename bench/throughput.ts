/**
 * Steady throughput: N persistent connections each keep one message in
 * flight (send `message X`, answer whatever `message Y` arrives with `ok Y`,
 * send the next X as soon as `ok X` is back) for a fixed time; full
 * message→ok round trips per second through the peerlink node and through
 * the minimal reference relay, in the same run, and their ratio. Then the
 * node's RSS per idle connection.
 *
 *   npm run bench:throughput -- [--connections 1000] [--seconds 20] [--rounds 1] [--idle 10000]
 */
import {arg, machineInfo, median, printTable, rssBytes, startPeerlinkNode, startReferenceRelay, writeResult} from './common.js'
import {closeAll, measureRoundTrips, openAll} from './roundtrips.js'

const CONNECTIONS = Number(arg('connections', '1000'))
const SECONDS = Number(arg('seconds', '20'))
const ROUNDS = Number(arg('rounds', '1'))
const IDLE = Number(arg('idle', '10000'))
const WARMUP_MS = 2000

async function idleMemory(): Promise<{baseline_mb: number; loaded_mb: number; per_connection_bytes: number}> {
  const node = await startPeerlinkNode()
  try {
    await new Promise((r) => setTimeout(r, 1000))
    const before = rssBytes(node.pid)
    const sockets = await openAll(node.url, IDLE)
    await new Promise((r) => setTimeout(r, 3000))
    const after = rssBytes(node.pid)
    await closeAll(sockets)
    return {baseline_mb: Math.round(before / 2 ** 20), loaded_mb: Math.round(after / 2 ** 20), per_connection_bytes: Math.round((after - before) / IDLE)}
  } finally {
    await node.stop()
  }
}

async function main(): Promise<void> {
  const machine = machineInfo()
  const rounds: Array<{peerlink: number; reference: number; ratio: number}> = []
  for (let r = 0; r < ROUNDS; r++) {
    // alternate the order, so neither side always runs on a warmer machine
    const order: Array<'peerlink' | 'reference'> = r % 2 === 0 ? ['reference', 'peerlink'] : ['peerlink', 'reference']
    const result: Record<string, number> = {}
    for (const which of order) {
      const server = which === 'peerlink' ? await startPeerlinkNode() : await startReferenceRelay()
      try {
        result[which] = await measureRoundTrips([server.url], {connections: CONNECTIONS, seconds: SECONDS, warmupMs: WARMUP_MS, tag: which})
      } finally {
        await server.stop()
      }
      console.error(`round ${r + 1}/${ROUNDS}: ${which} ${result[which]} round trips/s`)
    }
    rounds.push({peerlink: result.peerlink, reference: result.reference, ratio: Math.round((result.peerlink / result.reference) * 100) / 100})
  }
  const memory = await idleMemory()
  const summary = {
    peerlink_rt_per_s: median(rounds.map((r) => r.peerlink)),
    reference_rt_per_s: median(rounds.map((r) => r.reference)),
    ratio: Math.round(median(rounds.map((r) => r.ratio)) * 100) / 100,
    ratio_target: 0.8,
    idle_connections: IDLE,
    rss_per_idle_connection_bytes: memory.per_connection_bytes,
    rss_target_bytes: 10 * 1024,
  }
  console.log(`\nthroughput: ${CONNECTIONS} persistent connections, ${SECONDS}s per measurement, ${ROUNDS} round(s) (medians)\n`)
  printTable(
    ['metric', 'value', 'target'],
    [
      ['peerlink round trips/s', summary.peerlink_rt_per_s, ''],
      ['reference round trips/s', summary.reference_rt_per_s, ''],
      ['ratio peerlink/reference', summary.ratio, `>= ${summary.ratio_target}`],
      [`node RSS per idle connection (${IDLE})`, `${(memory.per_connection_bytes / 1024).toFixed(1)} KB`, '< 10 KB'],
    ],
  )
  const file = writeResult('throughput', {machine, params: {connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, warmup_ms: WARMUP_MS}, rounds, memory, summary})
  console.log(`\nwritten ${file}`)
}

await main()

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
import WebSocket from 'ws'
import {arg, machineInfo, median, printTable, rssBytes, startPeerlinkNode, startReferenceRelay, TOKEN, writeResult, type Server} from './common.js'

const CONNECTIONS = Number(arg('connections', '1000'))
const SECONDS = Number(arg('seconds', '20'))
const ROUNDS = Number(arg('rounds', '1'))
const IDLE = Number(arg('idle', '10000'))
const WARMUP_MS = 2000

async function openAll(url: string, n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = []
  // in batches, so the accept backlog never overflows
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({length: Math.min(500, n - i)}, (_, j) => {
      const ws = new WebSocket(url, {headers: {authorization: `Bearer ${TOKEN}`}, perMessageDeflate: false, localAddress: `127.0.0.${1 + ((i + j) % 100)}`})
      out.push(ws)
      return new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve())
        ws.once('error', reject)
      })
    })
    await Promise.all(batch)
  }
  return out
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve()
          ws.once('close', () => resolve())
          ws.terminate()
        }),
    ),
  )
}

/** Round trips per second through `server`. */
async function measure(server: Server, tag: string): Promise<number> {
  const sockets = await openAll(server.url, CONNECTIONS)
  let counting = false
  let count = 0
  let running = true
  sockets.forEach((ws, i) => {
    let seq = 0
    let mine = ''
    const next = () => {
      if (!running) return
      mine = `${tag}-${i}-${seq++}`
      ws.send(`message ${mine}`)
    }
    ws.on('message', (data) => {
      const s = data.toString()
      if (s.startsWith('message ')) ws.send(`ok ${s.slice(8)}`)
      else if (s === `ok ${mine}`) {
        if (counting) count++
        next()
      }
    })
    next()
  })
  await new Promise((r) => setTimeout(r, WARMUP_MS))
  counting = true
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  counting = false
  const elapsedS = (performance.now() - t0) / 1000
  running = false
  await closeAll(sockets)
  return Math.round(count / elapsedS)
}

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
        result[which] = await measure(server, which)
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

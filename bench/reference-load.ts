/**
 * The reference load generator: the load protocol on bare `ws` in two
 * processes, nothing else (no gate, no histogram, no agents, no self-watch).
 * bench/load.ts runs it beside `peerlink load` against the same kind of node
 * in the same run. Prints one JSON line.
 *
 *   node --import tsx bench/reference-load.ts URL[,URL...] CLIENTS RAMP_MS ACK_DELAY_MAX_MS
 */
import {fork} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import WebSocket from 'ws'

const PROCESSES = 2
const ACK_TIMEOUT_MS = 5000
const RETRY_MS = 1000
const RETRIES = 10

interface Result {
  acked: number
  failed: number
  retries: number
  latencies: number[]
}

const [urlsArg, clientsArg, rampArg, delayArg] = process.argv.slice(2)
const urls = (urlsArg ?? '').split(',')
const clients = Number(clientsArg)
const rampMs = Number(rampArg)
const delayMaxMs = Number(delayArg ?? 0)
const headers: Record<string, string> = process.env.PEERLINK_TOKEN ? {authorization: `Bearer ${process.env.PEERLINK_TOKEN}`} : {}

function child(part: number, t0: number): void {
  const r: Result = {acked: 0, failed: 0, retries: 0, latencies: []}
  let done = 0
  const mine = Math.ceil((clients - part) / PROCESSES)
  const finish = () => {
    if (++done === mine) process.send?.(r, () => process.exit(0))
  }
  const run = (i: number) => {
    const x = `ref-${t0}-${i}`
    let sentAt = 0
    let failures = 0
    let acked = false
    const connect = () => {
      const ws = new WebSocket(urls[i % urls.length], {headers, perMessageDeflate: false, localAddress: `127.0.0.${1 + (i % 100)}`})
      let owed = 0
      const closeIfDone = () => acked && owed === 0 && ws.close(1000)
      const timer = setTimeout(() => ws.terminate(), ACK_TIMEOUT_MS)
      ws.on('open', () => {
        sentAt ||= performance.now()
        ws.send(`message ${x}`)
      })
      ws.on('message', (data) => {
        const s = data.toString()
        if (s === `ok ${x}` && !acked) {
          acked = true
          clearTimeout(timer)
          r.acked++
          r.latencies.push(performance.now() - sentAt)
          closeIfDone()
        } else if (s.startsWith('message ')) {
          const reply = `ok ${s.slice(8)}`
          const delay = delayMaxMs > 0 ? Math.floor(Math.random() * (delayMaxMs + 1)) : 0
          if (delay === 0) return ws.send(reply)
          owed++
          setTimeout(() => {
            owed--
            if (ws.readyState === WebSocket.OPEN) ws.send(reply)
            closeIfDone()
          }, delay)
        }
      })
      ws.on('error', () => {})
      ws.on('close', () => {
        clearTimeout(timer)
        if (acked) return finish()
        if (++failures > RETRIES) {
          r.failed++
          return finish()
        }
        r.retries++
        setTimeout(connect, RETRY_MS)
      })
    }
    connect()
  }
  for (let i = part; i < clients; i += PROCESSES) setTimeout(run, Math.max(0, t0 + Math.random() * rampMs - Date.now()), i)
  if (mine === 0) process.send?.(r, () => process.exit(0))
}

if (process.argv[6] === 'child') {
  // ready: wait for the start instant
  process.once('message', (t0) => child(Number(process.argv[7]), t0 as number))
  process.send?.('ready')
} else {
  const procs = Array.from({length: PROCESSES}, (_, p) => fork(fileURLToPath(import.meta.url), [urlsArg, clientsArg, rampArg, String(delayMaxMs), 'child', String(p)], {execArgv: process.execArgv}))
  await Promise.all(procs.map((proc) => new Promise((resolve) => proc.once('message', resolve))))
  const t0 = Date.now() + 100
  const results = await Promise.all(
    procs.map((proc) => {
      proc.send(t0)
      return new Promise<Result>((resolve) => proc.once('message', (m) => resolve(m as Result)))
    }),
  )
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b)
  const at = (p: number) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] * 10) / 10 : null)
  const sum = (k: 'acked' | 'failed' | 'retries') => results.reduce((n, r) => n + r[k], 0)
  console.log(JSON.stringify({clients, acked: sum('acked'), failed: sum('failed'), retries: sum('retries'), latency_ms: {p50: at(50), p90: at(90), p99: at(99), max: at(100)}, duration_s: Math.round((Date.now() - t0) / 100) / 10}))
}

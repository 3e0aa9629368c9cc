/** Persistent connections doing full message→ok round trips: shared by bench:throughput and bench:cluster. */
import WebSocket from 'ws'
import {TOKEN} from './common.js'

/**
 * Opens `n` connections, spread in turn over `urls` and over the loopback
 * source addresses 127.0.0.1–100 (so ephemeral ports never run out).
 */
export async function openAll(urls: string | string[], n: number): Promise<WebSocket[]> {
  const list = Array.isArray(urls) ? urls : [urls]
  const out: WebSocket[] = []
  // in batches, so the accept backlog never overflows
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({length: Math.min(500, n - i)}, (_, j) => {
      const k = i + j
      const ws = new WebSocket(list[k % list.length], {headers: {authorization: `Bearer ${TOKEN}`}, perMessageDeflate: false, localAddress: `127.0.0.${1 + (k % 100)}`})
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

export async function closeAll(sockets: WebSocket[]): Promise<void> {
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

export interface RoundTripOptions {
  connections: number
  seconds: number
  warmupMs: number
  /** prefix of the messages, unique per measurement */
  tag: string
}

/**
 * Round trips per second: each connection keeps one message in flight (sends
 * `message X`, answers every `message Y` with `ok Y`, sends the next X as
 * soon as `ok X` is back), counted for `seconds` after a warm-up.
 */
export async function measureRoundTrips(urls: string[], opts: RoundTripOptions): Promise<number> {
  const sockets = await openAll(urls, opts.connections)
  let counting = false
  let count = 0
  let running = true
  sockets.forEach((ws, i) => {
    let seq = 0
    let mine = ''
    const next = () => {
      if (!running) return
      mine = `${opts.tag}-${i}-${seq++}`
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
  await new Promise((r) => setTimeout(r, opts.warmupMs))
  counting = true
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, opts.seconds * 1000))
  counting = false
  const elapsedS = (performance.now() - t0) / 1000
  running = false
  await closeAll(sockets)
  return Math.round(count / elapsedS)
}

/** Persistent connections doing full message→ok round trips: shared by bench:throughput, bench:memory and bench:cluster. */
import * as hdr from 'hdr-histogram-js'
import WebSocket from 'ws'
import {procCpuMs, TOKEN} from './common.js'

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
  /** messages each connection keeps in flight (saturated mode); 1 by default */
  inflight?: number
  /**
   * Fixed offered rate in round trips per second over all connections: the
   * driver paces itself instead of keeping every connection busy, so a cheaper
   * relay shows as less relay CPU even when the driver is the limit.
   */
  rate?: number
  /** the relay's process: its CPU over the measured window is read from /proc */
  relayPid?: number
}

export interface RoundTripResult {
  rt_per_s: number
  /** round-trip latency, first send of `message X` to its `ok X` at the sender */
  p50_ms: number | null
  p99_ms: number | null
  /** user+system CPU of the relay per completed round trip in the measured window (µs) */
  relay_cpu_us_per_rt: number | null
  /** the driver's own CPU per round trip (µs): it shares the machine with the relay */
  driver_cpu_us_per_rt: number
  /** paced mode: the rate asked for, and sends skipped because a connection already had MAX_PACED_INFLIGHT in flight */
  offered_per_s?: number
  skipped?: number
}

/** In paced mode a connection never has more than this many messages in flight; past it a send is skipped (the relay is behind). */
const MAX_PACED_INFLIGHT = 64
const PACE_TICK_MS = 1

/**
 * Round trips per second through the relay at `urls`. Every connection
 * answers each `message Y` it is handed with `ok Y`. Saturated (no `rate`):
 * each keeps `inflight` own messages in flight, sending the next as soon as
 * an `ok` is back. Paced (`rate`): the driver sends `rate` messages a second
 * round-robin over the connections. Counted for `seconds` after a warm-up.
 */
export async function measureRoundTrips(urls: string[], opts: RoundTripOptions): Promise<RoundTripResult> {
  const sockets = await openAll(urls, opts.connections)
  const inflight = opts.inflight ?? 1
  const histogram = hdr.build({lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3})
  let counting = false
  let count = 0
  let running = true
  let skipped = 0
  const sent = sockets.map(() => new Map<string, number>())
  const seqs = sockets.map(() => 0)
  const send = (i: number): void => {
    const text = `${opts.tag}-${i}-${seqs[i]++}`
    sent[i].set(text, performance.now())
    sockets[i].send(`message ${text}`)
  }
  sockets.forEach((ws, i) => {
    const mine = sent[i]
    ws.on('message', (data) => {
      const s = data.toString()
      if (s.startsWith('message ')) return ws.send(`ok ${s.slice(8)}`)
      if (!s.startsWith('ok ')) return
      const text = s.slice(3)
      const t0 = mine.get(text)
      if (t0 === undefined) return
      mine.delete(text)
      if (counting) {
        count++
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
      }
      if (running && opts.rate === undefined) send(i)
    })
  })
  let pacer: NodeJS.Timeout | undefined
  if (opts.rate === undefined) {
    for (let i = 0; i < sockets.length; i++) for (let k = 0; k < inflight; k++) send(i)
  } else {
    const rate = opts.rate
    const start = performance.now()
    let due = 0
    let next = 0
    const tick = () => {
      if (!running) return
      const target = Math.floor(((performance.now() - start) / 1000) * rate)
      while (due < target) {
        due++
        const i = next
        next = (next + 1) % sockets.length
        if (sent[i].size >= MAX_PACED_INFLIGHT) skipped++
        else send(i)
      }
      pacer = setTimeout(tick, PACE_TICK_MS)
    }
    tick()
  }
  await new Promise((r) => setTimeout(r, opts.warmupMs))
  const skippedBefore = skipped
  const cpu0 = opts.relayPid === undefined ? 0 : procCpuMs(opts.relayPid)
  const driver0 = process.cpuUsage()
  counting = true
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, opts.seconds * 1000))
  counting = false
  const elapsedS = (performance.now() - t0) / 1000
  const relayCpuMs = opts.relayPid === undefined ? undefined : procCpuMs(opts.relayPid) - cpu0
  const driver = process.cpuUsage(driver0)
  running = false
  clearTimeout(pacer)
  await closeAll(sockets)
  const at = (p: number) => (count === 0 ? null : Math.round(histogram.getValueAtPercentile(p) / 10) / 100)
  const result: RoundTripResult = {
    rt_per_s: Math.round(count / elapsedS),
    p50_ms: at(50),
    p99_ms: at(99),
    relay_cpu_us_per_rt: relayCpuMs === undefined || count === 0 ? null : Math.round(((relayCpuMs * 1000) / count) * 10) / 10,
    driver_cpu_us_per_rt: count === 0 ? 0 : Math.round(((driver.user + driver.system) / count) * 10) / 10,
  }
  if (opts.rate !== undefined) {
    result.offered_per_s = opts.rate
    result.skipped = skipped - skippedBefore
  }
  histogram.destroy()
  return result
}

/**
 * The slow-reader case of issue 17, as a measurement (the bad-input suite
 * asserts it generously; this prints the figure): one client stops reading
 * while another sends N messages of B bytes through the relay. The relay's
 * peak RSS growth while the reader is stalled, how many messages the stalled
 * client held (not acknowledged until it reads again), whether the relay
 * closed it, and whether every message was acknowledged once it read again.
 */
import WebSocket from 'ws'
import {peakRssBytes, rssBytes, TOKEN, type Server} from './common.js'

export interface SlowReaderRun {
  /** peak RSS (VmHWM) while stalled minus RSS before, MB */
  growth_mb: number
  /** messages neither acknowledged nor anywhere else once the sender was done: what the stalled reader held */
  held_by_stalled: number
  /** how the stalled client's connection ended, if the relay closed it */
  stalled_closed: string | null
  all_acked: boolean
  seconds: number
}

const MB = 2 ** 20
/** what the sender lets wait in its own socket buffer before it waits for a write to finish */
const SENDER_BUFFER = 4 * MB
const SETTLE_TIMEOUT_MS = 60_000
const ACK_TIMEOUT_MS = 120_000

/** A client that answers `ok X` to every `message X` it reads and counts the oks of its own messages. */
class Client {
  readonly ws: WebSocket
  readonly opened: Promise<void>
  readonly acked = new Set<number>()
  closed: string | null = null

  constructor(url: string) {
    this.ws = new WebSocket(url, {headers: {authorization: `Bearer ${TOKEN}`}, perMessageDeflate: false})
    this.ws.on('error', () => {})
    this.opened = new Promise((resolve, reject) => this.ws.once('open', () => resolve()).once('error', reject))
    this.ws.on('close', (code, reason) => (this.closed = `${code} ${reason.toString()}`.trim()))
    this.ws.on('message', (data) => {
      const frame = data.toString()
      if (frame.startsWith('message ')) {
        if (this.ws.readyState === WebSocket.OPEN) this.ws.send(`ok ${frame.slice(8)}`)
      } else if (frame.startsWith('ok slow:')) {
        this.acked.add(Number(frame.slice(8, frame.indexOf(':', 8))))
      }
    })
  }

  /** Sends n messages of `bytes` each, paced by its own socket buffer. */
  async sendAll(n: number, bytes: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const head = `slow:${i}:`
      const text = head + 'x'.repeat(bytes - head.length)
      if (this.ws.bufferedAmount < SENDER_BUFFER) this.ws.send(`message ${text}`)
      else await new Promise<void>((resolve, reject) => this.ws.send(`message ${text}`, (err) => (err ? reject(err) : resolve())))
    }
  }
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

async function pending(server: Server): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.port}/stats`, {headers: {authorization: `Bearer ${TOKEN}`}})
  return ((await res.json()) as {pending: number}).pending
}

export async function slowReader(server: Server, messages: number, bytes: number): Promise<SlowReaderRun> {
  const started = Date.now()
  const sender = new Client(server.url)
  const stalled = new Client(server.url)
  try {
    await Promise.all([sender.opened, stalled.opened])
    const before = rssBytes(server.pid)
    stalled.ws.pause()
    await sender.sendAll(messages, bytes)
    // settled: every message is acknowledged or still waits at the relay (held by the stalled reader)
    await until(async () => sender.acked.size + (await pending(server)) === messages, SETTLE_TIMEOUT_MS)
    const growth = peakRssBytes(server.pid) - before
    const held = messages - sender.acked.size
    stalled.ws.resume()
    const allAcked = await until(() => sender.acked.size === messages, ACK_TIMEOUT_MS)
    return {growth_mb: Math.round(growth / MB), held_by_stalled: held, stalled_closed: stalled.closed, all_acked: allAcked, seconds: Math.round((Date.now() - started) / 100) / 10}
  } finally {
    sender.ws.terminate()
    stalled.ws.terminate()
  }
}

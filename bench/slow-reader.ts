/**
 * The slow-reader case of issue 17, as a measurement (the bad-input suite
 * asserts it generously; this prints the figure): one client stops reading
 * while another sends N messages of B bytes through the relay. The relay's
 * peak RSS growth while the reader is stalled, how many messages the stalled
 * client held (not acknowledged until it reads again), whether the relay
 * closed it, and whether every message was acknowledged once it read again.
 */
import {BulkClient} from '../test/helpers/bulk-client.js'
import {peakRssBytes, rssBytes, statsOf, TOKEN, type Server} from './common.js'

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
const SETTLE_TIMEOUT_MS = 60_000
const ACK_TIMEOUT_MS = 120_000

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

async function pending(server: Server): Promise<number> {
  return (await statsOf<{pending: number}>(server.port)).pending
}

export async function slowReader(server: Server, messages: number, bytes: number): Promise<SlowReaderRun> {
  const started = Date.now()
  const sender = new BulkClient(server.url, TOKEN)
  const stalled = new BulkClient(server.url, TOKEN)
  let stalledClosed: string | null = null
  void stalled.closed.then(({code, reason}) => (stalledClosed = `${code} ${reason}`.trim()))
  try {
    await Promise.all([sender.opened, stalled.opened])
    const before = rssBytes(server.pid)
    stalled.ws.pause()
    await sender.sendAll('slow', messages, bytes)
    // settled: every message is acknowledged or still waits at the relay (held by the stalled reader)
    await until(async () => sender.acked.size + (await pending(server)) === messages, SETTLE_TIMEOUT_MS)
    const growth = peakRssBytes(server.pid) - before
    const held = messages - sender.acked.size
    stalled.ws.resume()
    const allAcked = await until(() => sender.acked.size === messages, ACK_TIMEOUT_MS)
    return {growth_mb: Math.round(growth / MB), held_by_stalled: held, stalled_closed: stalledClosed, all_acked: allAcked, seconds: Math.round((Date.now() - started) / 100) / 10}
  } finally {
    sender.ws.terminate()
    stalled.ws.terminate()
  }
}

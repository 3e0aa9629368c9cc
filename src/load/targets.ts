/** The nodes under load, seen through their `/stats`: reachable before the run, back in zero state after it. */
import type {DialOptions} from '../client/dial.js'
import {callJson} from '../client/http.js'
import {httpBase} from '../client/urls.js'
import {PeerlinkError} from '../protocol/errors.js'
import type {TargetCheck} from './verdict.js'

/** After the last client closed, every node must reach zero state within this time. */
export const ZERO_STATE_WAIT_MS = 5000
const STATS_POLL_MS = 100

/** The node's `/stats` answer. */
export interface TargetStats {
  name?: string
  connections: number
  pending: number
  [key: string]: unknown
}

function statsUrl(url: string): string {
  return `${httpBase(url)}/stats`
}

/**
 * Reads every target's `/stats` once; the first that cannot be read is a
 * PeerlinkError naming it, its message led by `prefix` (the runner's words
 * by default; an agent says it in its own).
 */
export async function checkReachable(urls: readonly string[], dial: DialOptions, prefix = 'cannot start the load test: '): Promise<void> {
  await Promise.all(
    urls.map(async (url) => {
      try {
        await callJson<TargetStats>(statsUrl(url), dial)
      } catch (err) {
        if (err instanceof PeerlinkError) throw new PeerlinkError(err.code, `${prefix}${err.message}`)
        throw err
      }
    }),
  )
}

export interface TargetAfter extends TargetCheck {
  stats: TargetStats | null
}

/** Polls one `/stats` until connections and pending are both 0, at most {@link ZERO_STATE_WAIT_MS}; returns the last answer. */
async function awaitZeroState(url: string, dial: DialOptions): Promise<TargetAfter> {
  const deadline = Date.now() + ZERO_STATE_WAIT_MS
  let stats: TargetStats | null = null
  let error: string | undefined
  for (;;) {
    try {
      stats = await callJson<TargetStats>(statsUrl(url), dial)
      error = undefined
      if (stats.connections === 0 && stats.pending === 0) return {url, stats, zeroState: true}
    } catch (err) {
      error = err instanceof Error ? err.message : String(err)
    }
    if (Date.now() >= deadline) return error === undefined ? {url, stats, zeroState: false} : {url, stats: null, error, zeroState: false}
    await new Promise((resolve) => setTimeout(resolve, STATS_POLL_MS))
  }
}

/** Waits for the zero state of every target at once; one answer per target, in order. */
export function awaitZeroStateAll(urls: readonly string[], dial: DialOptions): Promise<TargetAfter[]> {
  return Promise.all(urls.map((url) => awaitZeroState(url, dial)))
}

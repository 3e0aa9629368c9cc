/** How stale {@link coarseNowMs} may be. */
export const CLOCK_TICK_MS = 250

let nowMs = Date.now()
let timer: NodeJS.Timeout | undefined

/**
 * Date.now() as read at most {@link CLOCK_TICK_MS} ago: for what the hot
 * path stamps or counts per frame (a connection's last-seen time, the
 * sampled events' per-second windows), where a Date.now() per frame was
 * about 1 % of a relay's CPU. Its timer starts on first use and never keeps
 * the process alive.
 */
export function coarseNowMs(): number {
  if (timer === undefined) {
    timer = setInterval(() => (nowMs = Date.now()), CLOCK_TICK_MS)
    timer.unref()
    nowMs = Date.now()
  }
  return nowMs
}

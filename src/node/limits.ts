import {readFileSync} from 'node:fs'

/** File descriptors kept free for everything that is not an inbound connection (peer links, files, DNS, HTTP calls). */
export const FD_RESERVE = 64

/** The soft open-file limit of this process (Linux: /proc/self/limits); undefined when unknown or unlimited. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/**
 * How many inbound connections a server may hold under an open-file limit:
 * the limit less a reserve (at most a quarter of it), so that the node refuses
 * new connections cleanly instead of running into EMFILE everywhere.
 */
export function maxConnectionsFor(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined
  return Math.max(1, limit - Math.min(FD_RESERVE, Math.floor(limit / 4)))
}

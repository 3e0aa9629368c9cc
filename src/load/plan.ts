/**
 * The load test's plan, pure: how many worker processes, which client goes
 * where, when each starts, and the ack delays it draws. Randomness comes in as
 * a function so tests can pin it.
 */

/** Clients one worker process holds at most: well under an open-file limit of 20000. */
export const CLIENTS_PER_WORKER_MAX = 15_000
/** Loopback source addresses 127.0.0.1..N, so that 100k clients (and their TIME_WAITs) never run out of ephemeral ports. */
export const LOOPBACK_SOURCE_ADDRESSES = 100

export type Random = () => number

/** Worker processes for `clients`: at least `requested`, enough to keep each under the per-worker cap, never more than clients. */
export function workerCount(clients: number, requested: number, perWorkerMax = CLIENTS_PER_WORKER_MAX): number {
  const needed = Math.max(requested, Math.ceil(clients / perWorkerMax))
  return Math.max(1, Math.min(needed, clients))
}

/** Client indices of worker `w` of `workers`: round robin, so every worker gets a share of the whole ramp. */
export function clientsOfWorker(clients: number, workers: number, w: number): number[] {
  const out: number[] = []
  for (let i = w; i < clients; i += workers) out.push(i)
  return out
}

/** Start offset of each client: uniform in [0, rampMs). */
export function drawStartTimes(clients: number, rampMs: number, random: Random = Math.random): number[] {
  const out = new Array<number>(clients)
  for (let i = 0; i < clients; i++) out[i] = Math.floor(random() * rampMs)
  return out
}

/** A drawer of ack delays, uniform over [minMs, maxMs] in whole milliseconds. */
export function ackDelayDrawer(range: {minMs: number; maxMs: number}, random: Random = Math.random): () => number {
  const {minMs, maxMs} = range
  if (maxMs <= minMs) return () => minMs
  return () => minMs + Math.floor(random() * (maxMs - minMs + 1))
}

/** True for a host on the loopback interface, where any 127.x.y.z source address reaches it. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

/** The source address of client `index` towards a loopback target; undefined (the OS picks) for any other target. */
export function sourceAddressFor(index: number, targetHost: string, spread = LOOPBACK_SOURCE_ADDRESSES): string | undefined {
  if (!isLoopbackHost(targetHost)) return undefined
  return `127.0.0.${1 + (index % spread)}`
}

/**
 * The load test's plan, pure: how many worker processes, which client goes to
 * which agent, worker and target, when each starts, the ack delays it draws
 * and the source address it binds. Randomness comes in as a function so tests
 * can pin it.
 */
import {CLOSE_WAIT_MS} from '../protocol/defaults.js'

/**
 * Sockets one worker process holds open at most: well under an open-file
 * limit of 20 000 (a worker also needs descriptors for its IPC, its event loop
 * and a margin for sockets still closing).
 */
export const SOCKETS_PER_WORKER_MAX = 15_000
/** Descriptors a worker keeps free for what is not a client socket (IPC, its event loop, sockets still closing). */
export const WORKER_FD_RESERVE = 256

/**
 * Sockets one worker may hold under an open-file limit (undefined: unknown):
 * {@link SOCKETS_PER_WORKER_MAX}, or less when the limit is lower, so that a
 * worker waits for a free slot instead of failing with EMFILE.
 */
export function socketsPerWorker(openFileLimit: number | undefined): number {
  if (openFileLimit === undefined) return SOCKETS_PER_WORKER_MAX
  return Math.max(1, Math.min(SOCKETS_PER_WORKER_MAX, openFileLimit - Math.min(WORKER_FD_RESERVE, Math.floor(openFileLimit / 4))))
}

/** Opening handshakes one worker keeps in flight at most; the rest wait their turn. */
export const HANDSHAKES_PER_WORKER_MAX = 256
/** Loopback source addresses used by default, 127.0.0.1..N, so that 100k clients (and their TIME_WAITs) never run out of ephemeral ports. */
export const LOOPBACK_SOURCE_ADDRESSES = 100
/** A --source-addresses range may name at most this many addresses. */
export const SOURCE_ADDRESSES_MAX = 4096

export type Random = () => number

export interface ConcurrencyInput {
  clients: number
  rampMs: number
  ackDelay: {minMs: number; maxMs: number}
  ackTimeoutMs: number
}

/**
 * Sockets open at once in the worst case that still ends well: clients arrive
 * at `clients / ramp` a second, and each holds its socket at most an ack
 * timeout, plus its longest ack delay, plus a close wait. Never more than the
 * clients themselves.
 */
export function plannedConcurrency(c: ConcurrencyInput): number {
  const holdMs = c.ackTimeoutMs + c.ackDelay.maxMs + CLOSE_WAIT_MS
  const perMs = c.clients / Math.max(1, c.rampMs)
  return Math.min(c.clients, Math.ceil(perMs * holdMs))
}

export interface WorkerPlan {
  workers: number
  /** why there are more workers than requested; null when there are not */
  reason: string | null
}

/**
 * Worker processes for a share of `clients` that may hold `concurrency`
 * sockets at once: the `requested` count (the cores by default), more only
 * when the concurrency needs them (each worker holds at most `perWorkerMax`),
 * never more than there are clients.
 */
export function planWorkers(clients: number, concurrency: number, requested: number, perWorkerMax = SOCKETS_PER_WORKER_MAX): WorkerPlan {
  const needed = Math.ceil(concurrency / perWorkerMax)
  const workers = Math.max(1, Math.min(Math.max(requested, needed), clients))
  const reason = workers > requested ? `${workers} workers instead of ${requested}: up to ${concurrency} clients may be open at once, ${perWorkerMax} per worker at most` : null
  return {workers, reason}
}

/**
 * A set of client indices `offset + k * stride` for k in [0, count): what an
 * agent or a worker runs. Compact, so a share of 150 000 clients is three numbers on the wire.
 */
export interface Share {
  offset: number
  stride: number
  count: number
}

/** Every client of a run of `clients`. */
export function wholeRun(clients: number): Share {
  return {offset: 0, stride: 1, count: clients}
}

/**
 * Splits `share` into `parts` round robin: part p gets the share's p-th,
 * (p+parts)-th, ... index, so every part gets a slice of the whole ramp and
 * every index belongs to exactly one part. Weights (e.g. one per worker of each
 * participant) are not needed: a participant splits its share again over its workers.
 */
export function splitShare(share: Share, parts: number): Share[] {
  return Array.from({length: parts}, (_, p) => ({
    offset: share.offset + p * share.stride,
    stride: share.stride * parts,
    count: Math.max(0, Math.ceil((share.count - p) / parts)),
  }))
}

/** The k-th client index of `share`. */
export function indexAt(share: Share, k: number): number {
  return share.offset + k * share.stride
}

/** Every client index of `share`, ascending (for tests and small shares). */
export function indicesOf(share: Share): number[] {
  return Array.from({length: share.count}, (_, k) => indexAt(share, k))
}

/**
 * The target (index into the URL list) of the k-th client of `share`: its
 * clients walk the targets in turn, starting at an offset of its own, so each
 * worker spreads evenly over every target and the run as a whole does too.
 */
export function targetOf(share: Share, k: number, targets: number): number {
  return (share.offset + k) % targets
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

function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/**
 * Parses `FIRST-LAST` (e.g. `127.0.1.1-127.0.1.50`) or a single IPv4 address
 * into the list of addresses it names; throws a one-line Error on anything else.
 */
export function parseAddressRange(input: string): string[] {
  const [a, b = a, ...rest] = input.split('-').map((s) => s.trim())
  const first = ipv4ToInt(a)
  const last = ipv4ToInt(b)
  if (rest.length > 0 || first === undefined || last === undefined) throw new Error(`invalid address range "${input}": use FIRST-LAST, e.g. 127.0.1.1-127.0.1.50`)
  if (last < first) throw new Error(`invalid address range "${input}": the last address comes before the first`)
  if (last - first + 1 > SOURCE_ADDRESSES_MAX) throw new Error(`invalid address range "${input}": at most ${SOURCE_ADDRESSES_MAX} addresses`)
  return Array.from({length: last - first + 1}, (_, i) => intToIpv4(first + i))
}

/** The default source addresses towards `targetHost`: 127.0.0.1..100 for a loopback target, none (the OS picks) otherwise. */
export function defaultSourceAddresses(targetHost: string): string[] {
  return isLoopbackHost(targetHost) ? Array.from({length: LOOPBACK_SOURCE_ADDRESSES}, (_, i) => `127.0.0.${i + 1}`) : []
}

/** The source address of client `index`: its turn in `addresses`, or undefined (the OS picks) when there are none. */
export function sourceAddressFor(index: number, addresses: readonly string[]): string | undefined {
  return addresses.length === 0 ? undefined : addresses[index % addresses.length]
}

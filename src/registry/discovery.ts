import type {z} from 'zod'
import type {ListSchema} from './list-schema.js'
import {callJson, request} from '../client/http.js'
import {httpBase} from '../client/urls.js'
import type {DialOptions} from '../client/dial.js'
import {PeerlinkError} from '../protocol/errors.js'

/** A node refreshes its registry entry this often (the registry prunes after 5 s by default). */
export const HEARTBEAT_MS = 2000
/** Leaving the registry at stop must not hold the node up for long. */
export const LEAVE_TIMEOUT_MS = 1000

/** What discovery needs to know of each registry entry (see list-schema.ts, loaded with zod on the first answer). */
export type RegistryList = z.infer<typeof ListSchema>

/** The same URL spelled the same way, so `ws://h:1/ws` and `ws://h:1/ws/` compare; undefined when it is no ws(s) URL. */
export function normalizeWsUrl(url: string): string | undefined {
  try {
    const u = new URL(url)
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return undefined
    if (u.pathname.length > 1) u.pathname = u.pathname.replace(/\/+$/, '')
    return u.href
  } catch {
    return undefined
  }
}

export interface PlanInput {
  /** the registry's list (`GET /clients` / `PATCH /client` answer) */
  list: RegistryList
  /** this node's own entry id, once registered */
  ownId?: string
  /** this node's advertised URL (normalized) */
  ownUrl: string
  /** normalized URLs of links learned from the registry */
  learned: Iterable<string>
  /** normalized URLs this node links to anyway (`--peer`) */
  fixed: Iterable<string>
}

/**
 * Which links to open and which to drop, given the registry's list: dial every
 * entry with role `node` and a ws(s) URL that is not this node and not yet
 * linked; drop every learned link whose URL no node entry names any more.
 * Pure; URLs are compared normalized, so two entries of one node (a restart
 * within the TTL) give one link.
 */
export function planLinks(input: PlanInput): {dial: string[]; drop: string[]} {
  const wanted = new Set<string>()
  for (const [id, entry] of Object.entries(input.list)) {
    if (id === input.ownId || entry.role !== 'node' || entry.url === undefined) continue
    const url = normalizeWsUrl(entry.url)
    if (url === undefined || url === input.ownUrl) continue
    wanted.add(url)
  }
  const learned = new Set(input.learned)
  const fixed = new Set(input.fixed)
  const dial = [...wanted].filter((url) => !learned.has(url) && !fixed.has(url))
  const drop = [...learned].filter((url) => !wanted.has(url))
  return {dial, drop}
}

/** What discovery asks of the node it serves; the node owns the links. */
export interface DiscoveryHost {
  /** opens a link to a node learned from the registry, at `url` (normalized) */
  dial(url: string): void
  /** the node's registry entry is gone: drop the link to `url`, failing its unacknowledged messages */
  drop(url: string): void
  /** normalized URLs of the links learned from the registry that the node has now */
  learnedUrls(): Iterable<string>
  /** normalized URLs of the links the node has anyway (`--peer`) */
  fixedUrls(): Iterable<string>
  info(msg: string): void
  error(msg: string): void
}

export interface DiscoveryOptions {
  /** the registry: http(s) base or ws(s) URL of another node */
  registryUrl: string
  /** the ws(s) URL other nodes should dial to reach this one */
  advertiseUrl: string
  name: string
  /** token and TLS options for the registry's HTTP API */
  client: DialOptions
  heartbeatMs?: number
  /** the id to register under (the node's own, which its links propose too); the registry picks one when unset or taken */
  id?: string
}

/**
 * Registry discovery: registers this node (role `node`, its advertised URL),
 * heartbeats with `PATCH /client` every 2 s (registering again when the
 * registry forgot it), links to every other node entry and drops links whose
 * entry left. At stop it removes its entry with `DELETE /clients/:id`.
 */
export class Discovery {
  /** this node's id in the registry, once registered */
  id: string | undefined
  private readonly base: string
  private readonly ownUrl: string
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  /** the last failure reported, so a registry that stays down is one line, not one every 2 s */
  private failing: string | undefined

  constructor(
    private readonly opts: DiscoveryOptions,
    private readonly host: DiscoveryHost,
  ) {
    this.base = httpBase(opts.registryUrl)
    const own = normalizeWsUrl(opts.advertiseUrl)
    if (own === undefined) throw new PeerlinkError('BAD_FLAG', `--advertise: "${opts.advertiseUrl}" is not a ws:// or wss:// URL`)
    this.ownUrl = own
  }

  /** Registers and starts heartbeating (the first round runs at once). */
  start(): void {
    this.schedule(0)
  }

  /** One round: register if needed, heartbeat, and follow the list. Exposed for tests. */
  async round(): Promise<void> {
    try {
      const list = await this.heartbeat()
      if (this.stopped) return
      if (this.failing !== undefined) this.host.info(`registry ${this.base} reachable again`)
      this.failing = undefined
      this.follow(list)
    } catch (err) {
      if (this.stopped) return
      const msg = err instanceof PeerlinkError ? err.message : String(err)
      if (msg !== this.failing) this.host.error(`registry ${this.base}: ${msg}; trying again every ${(this.opts.heartbeatMs ?? HEARTBEAT_MS) / 1000}s`)
      this.failing = msg
    }
  }

  /** Stops heartbeating and removes this node's entry from the registry (waiting at most a second). */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    const id = this.id
    this.id = undefined
    if (id !== undefined) await this.leave(id)
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      void this.round().finally(() => this.schedule(this.opts.heartbeatMs ?? HEARTBEAT_MS))
    }, delayMs)
    this.timer.unref()
  }

  private async heartbeat(): Promise<RegistryList> {
    if (this.id !== undefined) {
      try {
        return await this.patch(this.id)
      } catch (err) {
        if (!(err instanceof PeerlinkError && err.code === 'NOT_FOUND')) throw err
        // pruned (a pause longer than the TTL) or the registry restarted: join again
        this.id = undefined
      }
    }
    const id = await this.register()
    if (this.stopped) {
      await this.leave(id)
      return {}
    }
    this.id = id
    this.host.info(`registered at ${this.base} as ${id} (advertising ${this.opts.advertiseUrl})`)
    return this.patch(id)
  }

  private async register(): Promise<string> {
    const u = new URL(this.opts.advertiseUrl)
    const port = u.port === '' ? (u.protocol === 'wss:' ? 443 : 80) : Number(u.port)
    const body = {ip: u.hostname.replace(/^\[|\]$/g, ''), port, name: this.opts.name, role: 'node', url: this.opts.advertiseUrl, ...(this.opts.id === undefined ? {} : {id: this.opts.id})}
    const answer = await callJson<{id?: unknown}>(`${this.base}/client`, this.opts.client, 'POST', body)
    if (typeof answer?.id !== 'string') throw new PeerlinkError('BAD_RESPONSE', 'POST /client: the answer has no "id"')
    return answer.id
  }

  private async patch(id: string): Promise<RegistryList> {
    const answer = await callJson(`${this.base}/client`, this.opts.client, 'PATCH', {id})
    const {ListSchema} = await import('./list-schema.js')
    const parsed = ListSchema.safeParse(answer)
    if (!parsed.success) throw new PeerlinkError('BAD_RESPONSE', 'PATCH /client: the answer is not a client list')
    return parsed.data
  }

  private async leave(id: string): Promise<void> {
    try {
      await request(`${this.base}/clients/${encodeURIComponent(id)}`, this.opts.client, {method: 'DELETE', timeoutMs: LEAVE_TIMEOUT_MS})
    } catch {
      // the registry is gone too; the TTL removes the entry there
    }
  }

  private follow(list: RegistryList): void {
    const plan = planLinks({list, ownId: this.id, ownUrl: this.ownUrl, learned: this.host.learnedUrls(), fixed: this.host.fixedUrls()})
    for (const url of plan.drop) this.host.drop(url)
    for (const url of plan.dial) this.host.dial(url)
  }
}

import {randomUUID} from 'node:crypto'
import {connect, type NatsConnection} from '@nats-io/transport-node'
import type {NodeEvent} from '../node/events.js'
import type {Chooser} from '../node/relay.js'
import type {ClientRelay, Endpoint, FabricStats, RelayFabric} from '../node/relaying.js'
import {backoffMs, LINK_BACKOFF, type BackoffOptions} from '../protocol/backoff.js'
import {decodeHeartbeat, decodeMember, encodeHeartbeat, encodeMember, subjects, type Heartbeat, type MemberMessage} from './wire.js'

/** How often a member says it is alive (and its counts, for the weights and `/stats`). */
export const HEARTBEAT_MS = 1000
/** A member silent this long is gone: noticed within DEAD_AFTER_MS + LIVENESS_CHECK_MS (< 5 s). */
export const DEAD_AFTER_MS = 3000
const LIVENESS_CHECK_MS = 250
/** A change of the connection count is published at once, then at most once per this (a connection storm is thousands a second). */
export const COUNTS_INTERVAL_MS = 20
/** How long a connection attempt to NATS may take. */
const CONNECT_TIMEOUT_MS = 2000
/** NATS's own ping: a server that stops answering (not just closing) is noticed after PING_MS × MAX_PINGS_OUT. */
const PING_MS = 1000
const MAX_PINGS_OUT = 3
/** How long stopping waits for the leave to reach NATS. */
const STOP_DRAIN_MS = 2000

export interface ClusterOptions {
  /** nats://HOST:PORT */
  url: string
  /** the cluster's name: nodes with the same name on the same NATS are one relay */
  name: string
  /** this node's name, as the other members' events show it */
  nodeName: string
  heartbeatMs?: number
  deadAfterMs?: number
  /** reconnect delays to NATS */
  backoff?: BackoffOptions
  /** uniform random number in [0, 1), replaceable in tests */
  random?: () => number
}

/**
 * Another member of the cluster, as this node's relay sees it: an endpoint
 * that is never picked as a connection is, holds what this node handed it and
 * is the origin of what it handed this node (docs/architecture.md, seam 1).
 */
class Member implements Endpoint {
  /** client connections it holds, as its last heartbeat said */
  clients = 0
  pending = 0
  lastSeenMs = Date.now()
  alive = true

  constructor(
    readonly id: string,
    readonly name: string,
    /** its subject, built once */
    readonly subject: string,
    private readonly fabric: ClusterFabric,
  ) {}

  get isOpen(): boolean {
    return this.alive
  }

  /** The relay sends a member only `ok X` (for a message it handed us); its `error` answers concern nobody there. */
  send(text: string): void {
    if (text.startsWith('ok ')) this.fabric.publishTo(this, {kind: 'ok', from: '', text: text.slice(3)})
  }

  hand(text: string, fromName: string): void {
    this.fabric.publishTo(this, {kind: 'message', from: '', origin: fromName, text})
  }
}

/**
 * Several nodes as one relay, over a NATS server: a {@link RelayFabric}.
 *
 * **How a receiver is chosen, uniformly over every open client connection of
 * the cluster.** Each member publishes its live count of client connections
 * (at once when it changes, then at most every {@link COUNTS_INTERVAL_MS},
 * and with every heartbeat). The member where `message X` arrives draws r
 * uniformly in [0, L + ΣNᵢ) over its own count L and the members' counts Nᵢ:
 * below L it picks one of its own connections uniformly (the relay's pick), else the
 * member whose share r falls in, which delivers X to one of *its* connections
 * uniformly. Each connection is then chosen with probability
 * (Nᵢ/N)·(1/Nᵢ) = 1/N, however unevenly they are spread; one NATS message
 * per cross-node forward, no extra round trip, and nothing in NATS grows with
 * the number of connections. The only inexactness is the age of a remote
 * count (a publish, ~1 ms on one host, plus ≤ 20 ms of coalescing), i.e. only
 * while connections come and go; a member handed X after its last connection
 * left hands it back and the hander chooses again, counting it as empty.
 *
 * Rejected alternatives: a NATS queue group over one subscription per member
 * is uniform over *members* (1/3 each for 1, 2 and 7 connections, not 1/10,
 * 2/10, 7/10); one queue subscription per connection is exact but makes
 * nats-server add and remove an interest per connect and close, O(N) work
 * inside it for a 100k-connection cluster; a per-member subscription with
 * rejection sampling (accept with probability Nᵢ/max N) is exact too but costs
 * a request/reply round trip per try and M·max N/N tries on average (2.1 for
 * 1, 2, 7): more latency than the skew it removes. test/e2e/cluster.test.ts
 * checks the distribution with a chi-square test over 1, 2 and 7 connections
 * on three nodes.
 *
 * Membership: a member is up from its first heartbeat; down when it says it
 * leaves, when no heartbeat came for {@link DEAD_AFTER_MS} (SIGKILL), or when
 * it reconnected to NATS as a new session. A member that goes down leaves the
 * relay like a closed connection, which re-forwards everything it held.
 * Losing NATS ends every member at once (one `cluster_lost`): the node serves
 * its own connections, re-forwards among them what it had handed to others,
 * and reconnects with backoff as a new session.
 */
export class ClusterFabric implements RelayFabric<Endpoint> {
  private readonly opts: Required<ClusterOptions>
  private readonly subjects: ReturnType<typeof subjects>
  private relay: ClientRelay<Endpoint> | undefined
  private report: (ev: NodeEvent) => void = () => {}
  private nc: NatsConnection | undefined
  /** this node's session on NATS (a new one per connection) and the one before it */
  private sessionId = ''
  private prevSessionId: string | undefined
  /** the live members, by session id (in the order they joined: the weighted walk goes through them) */
  private readonly members = new Map<string, Member>()
  /** Σ clients over the live members */
  private remoteClients = 0
  private stopped = false
  private attempt = 0
  /** true from a failed connect or a lost connection until the next join: the user was told once */
  private down = false
  private heartbeatTimer: NodeJS.Timeout | undefined
  private livenessTimer: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private countsTimer: NodeJS.Timeout | undefined
  private lastCountsMs = -Infinity

  constructor(opts: ClusterOptions) {
    this.opts = {heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS, backoff: LINK_BACKOFF, random: Math.random, ...opts}
    this.subjects = subjects(opts.name)
  }

  readonly choose: Chooser<Endpoint> = (origin, local) => {
    if (this.remoteClients === 0) return local()
    const random = this.opts.random
    // Handed to us by a member, which already weighed our count against the
    // others: ours to deliver, or, with no open connection left, to hand back
    // (stranded) so that the hander chooses again. Never onward to a member:
    // two members could each end up holding X for the other, and nobody
    // would deliver it.
    if (origin instanceof Member) return local()
    const localCount = (this.relay as ClientRelay<Endpoint>).connections
    const r = random() * (localCount + this.remoteClients)
    // local() is undefined only when every local connection is closing: then another member's
    if (r < localCount) return local() ?? this.pickMember(random() * this.remoteClients)
    return this.pickMember(r - localCount)
  }

  /**
   * Nobody can take X here: a member that handed it to us gets it back (and
   * we stop keeping it for that member), so it places X elsewhere instead of
   * waiting on us for good.
   */
  readonly stranded = (text: string, origins: readonly Endpoint[]): void => {
    for (const origin of [...origins]) {
      if (!(origin instanceof Member)) continue
      ;(this.relay as ClientRelay<Endpoint>).withdraw(origin, text)
      this.publishTo(origin, {kind: 'back', from: '', text})
    }
  }

  attach(relay: ClientRelay<Endpoint>, report: (ev: NodeEvent) => void): void {
    this.relay = relay
    this.report = report
  }

  changed(): void {
    if (this.nc === undefined || this.countsTimer !== undefined) return
    const wait = this.lastCountsMs + COUNTS_INTERVAL_MS - Date.now()
    if (wait <= 0) return this.publishHeartbeat()
    this.countsTimer = setTimeout(() => {
      this.countsTimer = undefined
      this.publishHeartbeat()
    }, wait)
    this.countsTimer.unref()
  }

  /** Starts joining in the background and returns at once: until NATS answers, the node serves its own connections. */
  async start(): Promise<void> {
    this.livenessTimer = setInterval(() => this.checkLiveness(), LIVENESS_CHECK_MS)
    this.livenessTimer.unref()
    void this.join()
  }

  /** Says it leaves (the others re-forward what they handed this node) and closes the NATS connection. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.livenessTimer)
    clearTimeout(this.retryTimer)
    this.stopTimers()
    const nc = this.nc
    this.nc = undefined
    if (nc === undefined) return
    let timer: NodeJS.Timeout | undefined
    try {
      nc.publish(this.subjects.heartbeat, encodeHeartbeat({...this.heartbeat(), leaving: true}))
      // a NATS server that stopped answering must not hold up the node's exit
      await Promise.race([nc.drain(), new Promise((resolve) => (timer = setTimeout(resolve, STOP_DRAIN_MS)))])
    } catch {
      // the connection is going anyway
    } finally {
      clearTimeout(timer)
      if (!nc.isClosed()) await nc.close().catch(() => {})
    }
  }

  stats(): FabricStats {
    const relay = this.relay as ClientRelay<Endpoint>
    let connections = relay.connections
    let pending = relay.pending
    for (const m of this.members.values()) {
      connections += m.clients
      pending += m.pending
    }
    return {name: this.opts.name, nodes: 1 + this.members.size, connections, pending}
  }

  /** Sends `m` to member `to` (a lost publish is re-forwarded when `to` goes down, which is how NATS loses it). */
  publishTo(to: Member, m: MemberMessage): void {
    m.from = this.sessionId
    this.nc?.publish(to.subject, encodeMember(m))
  }

  private async join(): Promise<void> {
    if (this.stopped) return
    let nc: NatsConnection
    try {
      // reconnect: false: this class reconnects itself, as a new session, so
      // the others can tell what this node forgot while it was away
      nc = await connect({servers: this.opts.url.split(','), name: `peerlink ${this.opts.nodeName}`, reconnect: false, noEcho: true, timeout: CONNECT_TIMEOUT_MS, pingInterval: PING_MS, maxPingOut: MAX_PINGS_OUT})
    } catch (err) {
      this.lost(describe(err))
      return
    }
    if (this.stopped) {
      await nc.close().catch(() => {})
      return
    }
    this.nc = nc
    this.attempt = 0
    this.down = false
    this.prevSessionId = this.sessionId || undefined
    this.sessionId = randomUUID()
    nc.subscribe(this.subjects.member(this.sessionId), {callback: (_err, msg) => this.onMember(msg.string())})
    nc.subscribe(this.subjects.heartbeat, {callback: (_err, msg) => this.onHeartbeat(msg.string())})
    this.publishHeartbeat()
    this.heartbeatTimer = setInterval(() => this.publishHeartbeat(), this.opts.heartbeatMs)
    this.heartbeatTimer.unref()
    this.report({event: 'cluster_joined', cluster: this.opts.name, url: this.opts.url})
    void nc.closed().then((err) => {
      if (this.nc !== nc) return
      this.nc = undefined
      this.lost(err ? describe(err) : 'connection closed')
    })
  }

  /** NATS is unreachable or the connection dropped: every member is gone; say so once, retry with backoff. */
  private lost(reason: string): void {
    this.stopTimers()
    const gone = [...this.members.values()]
    this.members.clear()
    this.remoteClients = 0
    for (const m of gone) m.alive = false
    // what they held is re-forwarded among this node's own connections
    for (const m of gone) this.relay?.remove(m)
    if (this.stopped) return
    this.attempt++
    const retryMs = backoffMs(this.attempt, this.opts.backoff, this.opts.random)
    if (!this.down) {
      this.down = true
      this.report({event: 'cluster_lost', cluster: this.opts.name, url: this.opts.url, reason, retry_in_ms: retryMs})
    }
    this.retryTimer = setTimeout(() => void this.join(), retryMs)
    this.retryTimer.unref()
  }

  private stopTimers(): void {
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.countsTimer)
    this.heartbeatTimer = undefined
    this.countsTimer = undefined
  }

  private heartbeat(): Heartbeat {
    const relay = this.relay as ClientRelay<Endpoint>
    return {id: this.sessionId, name: this.opts.nodeName, clients: relay.connections, pending: relay.pending, ...(this.prevSessionId && {prev: this.prevSessionId})}
  }

  private publishHeartbeat(): void {
    this.lastCountsMs = Date.now()
    this.nc?.publish(this.subjects.heartbeat, encodeHeartbeat(this.heartbeat()))
  }

  private onHeartbeat(data: string): void {
    const h = decodeHeartbeat(data)
    if (h === undefined || h.id === this.sessionId) return
    if (h.prev !== undefined) {
      const old = this.members.get(h.prev)
      if (old) this.memberDown(old, 'reconnected to NATS as a new session')
    }
    const known = this.members.get(h.id)
    if (h.leaving) {
      if (known) this.memberDown(known, 'left the cluster')
      return
    }
    if (known) {
      this.remoteClients += h.clients - known.clients
      known.clients = h.clients
      known.pending = h.pending
      known.lastSeenMs = Date.now()
      return
    }
    const m = new Member(h.id, h.name, this.subjects.member(h.id), this)
    m.clients = h.clients
    m.pending = h.pending
    this.members.set(m.id, m)
    this.remoteClients += m.clients
    ;(this.relay as ClientRelay<Endpoint>).track(m)
    // Before this node hands the newcomer anything, tell it who we are: NATS
    // keeps one connection's messages in order, so it knows us by then.
    this.publishHeartbeat()
    this.report({event: 'cluster_node_up', member: m.name, reason: 'joined the cluster'})
  }

  private onMember(data: string): void {
    const m = decodeMember(data)
    if (m === undefined) return
    const from = this.members.get(m.from)
    // From a session we do not know (gone, or not yet heard): it learns we forgot it when its member view times out.
    if (from === undefined) return
    const relay = this.relay as ClientRelay<Endpoint>
    switch (m.kind) {
      case 'message': {
        const to = relay.message(from, m.text, `${from.name}/${m.origin}`)
        // undefined: nobody here to take it, and `stranded` has handed it back
        if (to !== undefined) this.publishTo(from, {kind: 'took', from: '', origin: m.origin, receiver: `${this.opts.nodeName}/${to.name}`, text: m.text})
        return
      }
      case 'ok':
        relay.ok(from, m.text)
        return
      case 'back':
        // it had no open connection when it tried: do not pick it again before its next count says otherwise
        this.remoteClients -= from.clients
        from.clients = 0
        relay.release(from, m.text)
        return
      case 'took':
        relay.relayedElsewhere(m.origin, m.text, m.receiver)
        return
    }
  }

  private checkLiveness(): void {
    const now = Date.now()
    // memberDown deletes from the map while we walk it, which a Map allows
    for (const m of this.members.values()) {
      if (now - m.lastSeenMs > this.opts.deadAfterMs) this.memberDown(m, `no heartbeat for ${this.opts.deadAfterMs / 1000}s`)
    }
  }

  private memberDown(m: Member, reason: string): void {
    if (!this.members.delete(m.id)) return
    m.alive = false
    this.remoteClients -= m.clients
    this.report({event: 'cluster_node_down', member: m.name, reason})
    this.relay?.remove(m)
  }

  /** The live member whose share of [0, Σ clients) holds `r`. */
  private pickMember(r: number): Member | undefined {
    let rest = r
    // rounding at the very top of the range: the last member that has any connection
    let lastWithClients: Member | undefined
    for (const m of this.members.values()) {
      if (rest < m.clients) return m
      rest -= m.clients
      if (m.clients > 0) lastWithClients = m
    }
    return lastWithClients
  }
}

function describe(err: unknown): string {
  const e = err as {message?: string; code?: string}
  return e?.message ?? String(err)
}

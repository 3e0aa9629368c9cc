import type {Server, Socket} from 'node:net'
import type {Counter, Histogram, Registry} from 'prom-client'
import type {NodeEvent} from '../node/events.js'

/** The node's figures the gauges read at scrape time (what `GET /stats` answers), and the relay's count. */
export interface GaugeSource {
  stats(): {name: string; connections: number; peers: number; pending: number; outbox: number; clients: number}
  /**
   * client messages relayed so far: the relay keeps the count itself, so
   * that it need not report an event per message nobody renders
   */
  readonly relayedTotal: number
}

/** The kinds of `error` event a node reports; an error without a kind counts as `other`. */
export const ERROR_KINDS = ['bad_frame', 'remote', 'accept', 'registry', 'too_slow', 'other'] as const
type ErrorKind = (typeof ERROR_KINDS)[number]

/** The Prometheus text format's content type, what prom-client's registry says too. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'

/** Upper bounds of the ack latency buckets, in seconds: 1 ms to 30 s (the ack timeout is 5 s by default). */
export const ACK_LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * Ack latencies kept before prom-client is loaded: past this many the node
 * loads it (as a scrape would) and hands them on, so that what waits stays small.
 */
export const PENDING_LATENCIES_MAX = 1024

/** prom-client's parts once loaded: the registry, and the one metric fed between scrapes (the others read at scrape time). */
interface Loaded {
  registry: Registry
  ackLatency: Histogram
}

/**
 * A node's Prometheus registry: gauges read from its stats at scrape time,
 * counters fed by its events, bytes in and out of its sockets, and the
 * default process metrics (`process_*`, `nodejs_*`, from the first scrape on).
 *
 * prom-client is loaded on the first scrape, not when the node starts: it
 * and what it pulls in cost a node about 1 MB of RSS and 0.07 s of CPU at
 * start, which a node nobody scrapes (a test, a script) need not pay. Until
 * then, and after, counting is a plain `n++` per event (prom-client's
 * `inc()` hashes labels and allocates a result), handed to prom-client as
 * the difference when scraped. Only the ack latencies are observations:
 * they wait in a short list until prom-client is there (see
 * {@link PENDING_LATENCIES_MAX}). Relayed messages are not counted from
 * events at all: the relay keeps that count (`source.relayedTotal`), so that
 * a node whose events nobody renders reports no event per message
 * (docs/architecture.md, seam 3).
 */
export class NodeMetrics {
  private received = 0
  private sent = 0
  private resent = 0
  private acked = 0
  private failed = 0
  private readonly errors = zeroPerKind()
  /** ack latencies (seconds) observed while prom-client is not loaded yet */
  private pendingLatencies: number[] = []
  /** sockets open now, and the bytes of those closed */
  private readonly sockets = new Set<Socket>()
  private closedBytesIn = 0
  private closedBytesOut = 0
  private loading: Promise<Loaded> | undefined
  private loaded: Loaded | undefined

  constructor(private readonly source: GaugeSource) {}

  /** Counts one node event (`message_relayed` is counted by the relay: see the class comment). */
  event(ev: NodeEvent): void {
    switch (ev.event) {
      case 'message_received':
        this.received++
        return
      case 'message_sent':
        this.sent++
        if (ev.attempt > 1) this.resent++
        return
      case 'message_acked':
        this.acked++
        this.observeLatency(ev.rtt_ms / 1000)
        return
      case 'message_failed':
        this.failed++
        return
      case 'error':
        this.errors[ev.kind ?? 'other']++
        return
      default:
    }
  }

  /**
   * Counts the bytes of every socket `server` accepts. Node keeps the counts
   * per socket anyway; this only remembers the open sockets and adds up a
   * socket's counts as it closes, so it costs nothing per frame. One
   * listener function serves every socket (a closure per socket would cost
   * memory for each of a hundred thousand idle ones).
   *
   * A closed socket is let go at once: it still references its WebSocket
   * and all that hangs on it, and keeping it until a later sweep kept a
   * thousand closed connections alive under a load test, long enough to be
   * copied by every scavenge and promoted to the old generation (about 40 %
   * of a node's scavenge time and half its full-collection time).
   */
  watchSockets(server: Server): void {
    const sockets = this.sockets
    const metrics = this
    function onClose(this: Socket): void {
      if (!sockets.delete(this)) return
      metrics.closedBytesIn += this.bytesRead
      metrics.closedBytesOut += this.bytesWritten
    }
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', onClose)
    })
  }

  /**
   * The Prometheus text exposition of every metric, prom-client loaded
   * first if it is not yet. The process metrics (`process_*`, `nodejs_*`)
   * are registered then too: their event-loop monitor samples every 10 ms,
   * about 8 ms of CPU a second in a node nobody scrapes (and a test or a
   * script starts many such nodes). Those that count (GC time, say) count
   * from the first scrape; the node's own counters count from its start.
   */
  async metrics(): Promise<string> {
    return (await this.load()).registry.metrics()
  }

  /** The exposition's content type (prom-client's, once loaded; the same text format before). */
  get contentType(): string {
    return this.loaded?.registry.contentType ?? PROMETHEUS_TEXT
  }

  private observeLatency(seconds: number): void {
    if (this.loaded) return this.loaded.ackLatency.observe(seconds)
    this.pendingLatencies.push(seconds)
    if (this.pendingLatencies.length >= PENDING_LATENCIES_MAX) void this.load()
  }

  private load(): Promise<Loaded> {
    // a CommonJS package: its exports are the default export, in Node and in the bundle alike
    this.loading ??= import('prom-client').then(({default: prom}) => {
      const loaded = this.build(prom)
      for (const s of this.pendingLatencies) loaded.ackLatency.observe(s)
      this.pendingLatencies = []
      this.loaded = loaded
      return loaded
    })
    return this.loading
  }

  private build(prom: typeof import('prom-client')): Loaded {
    const registry = new prom.Registry()
    const registers = [registry]
    const source = this.source
    const gauge = (name: string, help: string, read: () => number) =>
      new prom.Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read())
        },
      })
    gauge('peerlink_connections', 'open WebSocket connections to /ws (clients and peer links)', () => source.stats().connections)
    gauge('peerlink_peers_up', "this node's outbound peer links that are up", () => source.stats().peers)
    gauge('peerlink_relay_pending', 'relayed messages waiting for their ok', () => source.stats().pending)
    gauge('peerlink_outbox', "this node's own messages not yet acknowledged by every peer", () => source.stats().outbox)
    gauge('peerlink_clients', 'entries in the client table (registrations and live connections)', () => source.stats().clients)
    new prom.Gauge({
      name: 'peerlink_node_info',
      help: 'always 1; the node name as a label',
      labelNames: ['name'],
      registers,
      collect() {
        this.reset()
        this.set({name: source.stats().name}, 1)
      },
    })

    /** a counter prom-client takes from `read()` at each scrape, as the difference since the last one */
    const counter = (name: string, help: string, read: () => number) => {
      let exported = 0
      new prom.Counter({
        name,
        help,
        registers,
        collect() {
          exported = exportGrowth(this, {}, read(), exported)
        },
      })
    }
    counter('peerlink_messages_relayed_total', 'client messages handed to a receiver (re-forwards included)', () => source.relayedTotal)
    counter('peerlink_messages_received_total', 'messages delivered to this node by its peers (resends included)', () => this.received)
    counter('peerlink_messages_sent_total', "this node's own messages put on a peer link (resends included)", () => this.sent)
    counter('peerlink_messages_resent_total', "this node's own messages sent again after a timeout or reconnect", () => this.resent)
    counter('peerlink_messages_acked_total', "this node's own messages acknowledged by a peer", () => this.acked)
    counter('peerlink_messages_failed_total', "this node's own messages given up unacknowledged", () => this.failed)
    counter('peerlink_received_bytes_total', "bytes read from connections to the node's port (HTTP, WebSocket; TLS included)", () => this.bytes().in)
    counter('peerlink_sent_bytes_total', "bytes written to connections to the node's port (HTTP, WebSocket; TLS included)", () => this.bytes().out)

    const counts = this.errors
    const exported = zeroPerKind()
    const errors = new prom.Counter({
      name: 'peerlink_errors_total',
      help: 'error events by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const kind of ERROR_KINDS) exported[kind] = exportGrowth(this, {kind}, counts[kind], exported[kind])
      },
    })
    for (const kind of ERROR_KINDS) errors.inc({kind}, 0)
    const ackLatency = new prom.Histogram({
      name: 'peerlink_ack_latency_seconds',
      help: 'time from first sending an own message to its acknowledgement',
      buckets: ACK_LATENCY_BUCKETS_S,
      registers,
    })
    prom.collectDefaultMetrics({register: registry})
    return {registry, ackLatency}
  }

  private bytes(): {in: number; out: number} {
    let bytesIn = this.closedBytesIn
    let bytesOut = this.closedBytesOut
    for (const s of this.sockets) {
      bytesIn += s.bytesRead
      bytesOut += s.bytesWritten
    }
    return {in: bytesIn, out: bytesOut}
  }
}

/**
 * Adds to `counter` (under `labels`) what a plain count grew by since the
 * last scrape, `exported` being the count then; returns the count, what was
 * exported now. A counter never goes back.
 */
function exportGrowth(counter: Counter<string>, labels: Record<string, string>, count: number, exported: number): number {
  if (count > exported) counter.inc(labels, count - exported)
  return count
}

function zeroPerKind(): Record<ErrorKind, number> {
  return Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>
}

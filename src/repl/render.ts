import {Chalk, type ChalkInstance} from 'chalk'
import {RELAYED_SAMPLES_PER_SECOND, type FoldedTotals, type NodeEvent, type RelayEvents} from '../node/events.js'
import {escapeForTerminal, jsonForTerminal} from '../protocol/terminal-text.js'
import type {Console} from './console.js'

/** Turns node events into output; `--json` and text are two renderers, not an `if` in every function. */
export interface Renderer {
  /** how many of the high-rate events it needs (the node reports no more than its listeners need; see RelayEvents) */
  readonly relayEvents: RelayEvents
  /** where it reads the counts of those events, when it needs fewer than every one (the text renderer's folding) */
  countFoldedFrom?(read: () => FoldedTotals): void
  event(ev: NodeEvent): void
  /** a one-line `error: ...` answer of the REPL to a line it could not take */
  replError(msg: string): void
  /** writes out anything buffered */
  flush(): Promise<void>
}

/**
 * How long an NDJSON line may wait to be written with those that follow it:
 * a busy `--json` node makes thousands of lines a second, and one write per
 * event-loop turn was about 2 % of its CPU (a write to a file is a system
 * call each). Short enough for anyone reading the stream live.
 */
export const JSON_WRITE_DELAY_MS = 10

/**
 * Lines are encoded as they are made, into a chunk of this many bytes that
 * is written when full or after {@link JSON_WRITE_DELAY_MS}: the line's
 * strings die at once instead of waiting, thousands of them, for the write
 * (the young generation copied them in every collection meanwhile), and the
 * write is one buffer, not a rope to flatten. A line longer than a third of
 * a chunk (UTF-8 takes up to three bytes per UTF-16 unit) is written alone.
 */
export const JSON_CHUNK_BYTES = 64 * 1024
/** chunks kept for reuse; more were in flight only while the stream was slow */
const SPARE_CHUNKS = 2

/**
 * NDJSON: one `{"ts","node","event",...}` object per line, written in
 * batches (one write per {@link JSON_WRITE_DELAY_MS}, or per
 * {@link JSON_CHUNK_BYTES} when lines come faster) so output never throttles
 * the relay.
 */
export class JsonRenderer implements Renderer {
  /** `--json` writes every event */
  readonly relayEvents = 'every'
  private chunk: Buffer = Buffer.allocUnsafeSlow(JSON_CHUNK_BYTES)
  private used = 0
  /**
   * chunks the stream is done with (its write callback ran), to fill again:
   * a new chunk for each write is external memory, which V8 answers with
   * more full collections (twice the GC time in a profile at 20 000 lines/s)
   */
  private readonly spare: Buffer[] = []
  private scheduled = false
  // Under load every relayed message is an event and thousands share a
  // millisecond: the `{"ts":…,"node":…,` head is built once per millisecond
  // and each event is serialised once, without copying it into a new object.
  private stampMs = -1
  private head = ''
  private readonly nodeJson: string
  private readonly writeNow = () => {
    this.scheduled = false
    this.writeChunk()
  }

  constructor(
    node: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {
    this.nodeJson = jsonString(node)
  }

  event(ev: NodeEvent): void {
    const now = Date.now()
    if (now !== this.stampMs) {
      this.stampMs = now
      this.head = `{"ts":"${new Date(now).toISOString()}","node":${this.nodeJson},`
    }
    const line = `${this.head}${ev.event === 'message_relayed' ? relayedJson(ev) : jsonForTerminal(JSON.stringify(ev)).slice(1)}\n`
    const most = 3 * line.length
    if (this.used + most > JSON_CHUNK_BYTES) this.writeChunk()
    if (most > JSON_CHUNK_BYTES) return void this.out.write(line)
    this.used += this.chunk.write(line, this.used)
    if (!this.scheduled) {
      this.scheduled = true
      setTimeout(this.writeNow, JSON_WRITE_DELAY_MS)
    }
  }

  replError(msg: string): void {
    this.event({event: 'error', msg})
  }

  async flush(): Promise<void> {
    this.writeChunk()
    await new Promise<void>((resolve) => this.out.write('', () => resolve()))
  }

  private writeChunk(): void {
    if (this.used === 0) return
    const full = this.chunk
    this.out.write(full.subarray(0, this.used), () => {
      if (this.spare.length < SPARE_CHUNKS) this.spare.push(full)
    })
    this.chunk = this.spare.pop() ?? Buffer.allocUnsafeSlow(JSON_CHUNK_BYTES)
    this.used = 0
  }
}

/**
 * An event's JSON without its opening brace (the line's head has it):
 * every event is a non-empty object, so its text starts with "{" and a key.
 * Each line is made safe for a terminal as it is built (the JSON value stays
 * exact; only characters a terminal would act on are \u-escaped).
 * `message_relayed`, one per relayed message, is written out by hand, as
 * JSON.stringify and jsonForTerminal would write it (the same keys in the
 * same order), without walking an object and copying the result.
 */
function relayedJson(ev: Extract<NodeEvent, {event: 'message_relayed'}>): string {
  return `"event":"message_relayed","from":${jsonString(ev.from)},"text":${jsonString(ev.text)},"to":${jsonString(ev.to)}}`
}

/** printable ASCII but `"` and `\`: what JSON writes as it is and a terminal only shows */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/**
 * A string as a JSON string, safe for a terminal. Most names and texts are
 * plain ASCII, which needs neither JSON's escaping nor the terminal's: one
 * scan, then quotes around it (about a third cheaper per line than the
 * general path, which every other string takes).
 */
function jsonString(s: string): string {
  return PLAIN_ASCII.test(s) ? `"${s}"` : jsonForTerminal(JSON.stringify(s))
}

/** Up to this many relay lines a second are shown one by one; the rest fold into a summary line. */
export const RELAY_LINES_PER_SECOND = RELAYED_SAMPLES_PER_SECOND
const FOLD_WINDOW_MS = 1000

type Folded = keyof FoldedTotals

const noneFolded = (): FoldedTotals => ({relayed: 0, connected: 0, disconnected: 0})

/**
 * Timestamped lines (`HH:MM:SS name ...`), coloured when allowed. Fast relay
 * traffic and fast client connections are folded: given the node's counts
 * ({@link countFoldedFrom}), it needs only a sampled few of those events a
 * second, the lines it shows, and takes the folded numbers from the counts.
 */
export class TextRenderer implements Renderer {
  readonly relayEvents = 'sampled'
  private readonly c: ChalkInstance
  private shown = 0
  /** events folded since the last summary (what it counts itself, given no counts) */
  private folded = noneFolded()
  private foldTimer: NodeJS.Timeout | undefined
  /** the node's counts, once given; the counts at the last summary, and the lines of each kind shown since */
  private counts: (() => FoldedTotals) | undefined
  private atSummary = noneFolded()
  private shownOf = noneFolded()

  constructor(
    private readonly node: string,
    private readonly console: Console,
    color: boolean,
  ) {
    this.c = new Chalk({level: color ? 1 : 0})
  }

  event(ev: NodeEvent): void {
    const c = this.c
    // Every string an event carries may come from the network (names, texts,
    // close reasons, error texts): shown escaped, never raw (issue 13).
    const v = escapeForTerminal
    switch (ev.event) {
      case 'listening':
        return this.line(`listening on ${c.bold(v(ev.url))}`)
      case 'peer_connected':
        return this.line(c.green(`linked to peer ${v(ev.peer)} (${v(ev.url)})`))
      case 'peer_disconnected': {
        if (ev.dropped) return this.line(c.yellow(`peer ${v(ev.peer)} dropped: ${v(ev.reason)}`))
        const retry = ev.retry_in_ms === undefined ? 'reconnecting' : 'retrying'
        return this.line(c.yellow(`peer ${v(ev.peer)} not connected: ${v(ev.reason)}; ${retry}`))
      }
      case 'client_connected':
        if (ev.role === 'node') return this.line(`peer ${v(ev.name)} dialed in`)
        return this.fold('connected', () => `client ${v(ev.name)} connected (id ${v(ev.id)})`)
      case 'client_disconnected':
        if (ev.role === 'node') return this.line(`peer ${v(ev.name)} hung up (${ev.code}${ev.reason ? ` ${v(ev.reason)}` : ''})`)
        return this.fold('disconnected', () => `client ${v(ev.name)} disconnected (${ev.code}${ev.reason ? ` ${v(ev.reason)}` : ''})`)
      case 'message_received':
        // a resend was acknowledged again at once; it was shown the first time (docs/protocol.md §4: shown once)
        if (ev.repeat) return
        return this.line(`${c.cyan(v(ev.from))}: ${v(ev.text)}`)
      case 'message_relayed':
        return this.fold('relayed', () => `relayed "${v(ev.text)}" from ${v(ev.from)} to ${v(ev.to)}`)
      case 'message_sent':
        if (ev.attempt > 1) return this.line(c.yellow(`resent to ${v(ev.to)} (attempt ${ev.attempt}): ${v(ev.text)}`))
        return this.line(c.dim(`sent to ${v(ev.to)}: ${v(ev.text)}`))
      case 'message_acked':
        return this.line(c.green(`✓ ${v(ev.to)} acknowledged: ${v(ev.text)} (${ev.rtt_ms} ms)`))
      case 'message_failed':
        return this.line(c.red(`✗ not acknowledged by ${v(ev.to)}: ${v(ev.text)} (${v(ev.reason)})`))
      case 'cluster_joined':
        return this.line(c.green(`joined cluster ${v(ev.cluster)} on ${v(ev.url)}`))
      case 'cluster_lost':
        return this.line(c.yellow(`not connected to cluster ${v(ev.cluster)} on ${v(ev.url)}: ${v(ev.reason)}; serving this node's connections only, retrying`))
      case 'cluster_node_up':
        // a member's name comes from the network: escaped like every text from it
        return this.line(c.green(`cluster member ${v(ev.member)} up (${v(ev.reason)})`))
      case 'cluster_node_down':
        return this.line(c.yellow(`cluster member ${v(ev.member)} down (${v(ev.reason)}); what it held is re-forwarded`))
      case 'error':
        return this.console.errorLine(`${this.stamp()}${c.red(`error: ${v(ev.msg)}`)}`)
      case 'info':
        // the outbox's lines are news about this run, stamped like the events around them
        if (ev.topic === 'outbox' && ev.msg !== undefined) return this.line(c.yellow(v(ev.msg)))
        // an answer is several lines on purpose; whatever it quotes is escaped within its line
        for (const line of (ev.msg ?? JSON.stringify(ev.data)).split('\n')) this.console.line(v(line))
        return
      case 'stopped':
        return this.line(`stopped${ev.code === 0 ? '' : ' (exit 1: not everything was acknowledged)'}`)
    }
  }

  countFoldedFrom(read: () => FoldedTotals): void {
    this.counts = read
    this.atSummary = read()
    this.shownOf = noneFolded()
  }

  replError(msg: string): void {
    this.console.errorLine(this.c.red(`error: ${escapeForTerminal(msg)}`))
  }

  async flush(): Promise<void> {
    this.summarize()
  }

  private stamp(): string {
    const now = new Date()
    const hms = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
    return `${this.c.gray(hms)} ${this.c.bold(escapeForTerminal(this.node))} `
  }

  private line(text: string): void {
    this.console.line(this.stamp() + text)
  }

  /** Shows high-rate events line by line while they are slow, and as one summary line a second when fast. */
  private fold(kind: Folded, text: () => string): void {
    if (this.foldTimer === undefined) {
      this.foldTimer = setInterval(() => this.summarize(), FOLD_WINDOW_MS)
      this.foldTimer.unref()
    }
    if (this.shown < RELAY_LINES_PER_SECOND) {
      this.shown++
      this.shownOf[kind]++
      this.line(text())
    } else {
      this.folded[kind]++
    }
  }

  private summarize(): void {
    let {relayed, connected, disconnected} = this.folded
    if (this.counts !== undefined) {
      // every event of each kind not shown as a line since the last summary, whether or not it was reported
      const now = this.counts()
      relayed = now.relayed - this.atSummary.relayed - this.shownOf.relayed
      connected = now.connected - this.atSummary.connected - this.shownOf.connected
      disconnected = now.disconnected - this.atSummary.disconnected - this.shownOf.disconnected
      this.atSummary = now
    }
    this.shownOf = noneFolded()
    const parts: string[] = []
    if (relayed) parts.push(`relayed ${relayed} messages`)
    if (connected) parts.push(`${connected} clients connected`)
    if (disconnected) parts.push(`${disconnected} disconnected`)
    if (parts.length > 0) this.line(this.c.dim(`${parts.join(', ')} (more than ${RELAY_LINES_PER_SECOND}/s, folded)`))
    this.folded = noneFolded()
    if (this.shown === 0 && this.foldTimer) {
      clearInterval(this.foldTimer)
      this.foldTimer = undefined
    }
    this.shown = 0
  }
}

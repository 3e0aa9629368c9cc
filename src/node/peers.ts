import {OutboundLink, type OutboundLinkOptions} from '../client/outbound-link.js'
import type {Outbox} from '../client/outbox.js'
import {settle} from '../client/settle.js'
import {PeerlinkError} from '../protocol/errors.js'
import type {NodeEvent} from './events.js'
import {reportLinkEvents} from './link-events.js'

/** What the REPL's `peers` and the console show of one link. */
export interface PeerInfo {
  url: string
  name: string
  up: boolean
  pending: number
}

/** How every link of a node dials: its hello (with the node's id), timeouts, token, TLS trust, the node's outbox. */
export type PeerLinkDefaults = Omit<OutboundLinkOptions, 'url' | 'graceMs' | 'outbox'> & {graceMs: number}

interface PeerLink {
  link: OutboundLink
  /** learned from the registry (dropped when its entry leaves), or a fixed `--peer` */
  learned: boolean
}

/**
 * The node's outbound links to its peers: the fixed ones (`--peer`, the A/B
 * presets) and those learned from the registry. Owns them: starting, sending
 * to all, dropping one for good, waiting until all is acknowledged, closing.
 *
 * Every link shares the node's {@link Outbox}: a message sent to several
 * peers is one record there, removed once each of them acknowledged it. A
 * link starts with what the outbox owes to its URL, so a peer linked again
 * (this node restarted, or a registry peer that came back) gets its messages
 * again. Dropping a peer (it left the registry) forgets its messages in the
 * link, not in the outbox: the drain stops waiting for it, the node ends with
 * exit 1, and the messages go out if that URL is linked again.
 */
export class Peers {
  private readonly links: PeerLink[] = []
  /** links dropped while running, still closing */
  private readonly closing = new Set<Promise<void>>()
  /** wakes whoever waits in drained() */
  private readonly wakers = new Set<() => void>()

  constructor(
    private readonly defaults: () => PeerLinkDefaults,
    private readonly store: Outbox,
    private readonly report: (ev: NodeEvent) => void,
  ) {}

  /** Opens a link to `url` and starts it (after the grace delay unless told otherwise). */
  add(url: string, opts: {graceMs?: number; learned?: boolean} = {}): OutboundLink {
    const d = this.defaults()
    const link = new OutboundLink({...d, url, outbox: this.store, graceMs: opts.graceMs ?? d.graceMs})
    reportLinkEvents(link, this.report)
    link.on('settled', () => this.wake())
    link.on('gave_up', () => this.wake())
    this.links.push({link, learned: opts.learned ?? false})
    link.start()
    return link
  }

  get count(): number {
    return this.links.length
  }

  /** Links that are up. */
  get up(): number {
    return this.links.filter((p) => p.link.isUp).length
  }

  /** This node's own messages not yet acknowledged, over all links (one sent to two peers counts twice). */
  get outbox(): number {
    let n = 0
    for (const {link} of this.links) n += link.pendingCount
    return n
  }

  /** URLs of the links learned from the registry. */
  learnedUrls(): string[] {
    return this.links.filter((p) => p.learned).map((p) => p.link.url)
  }

  info(): PeerInfo[] {
    return this.links.map(({link}) => ({url: link.url, name: link.peerName, up: link.isUp, pending: link.pendingCount}))
  }

  /**
   * Sends `text` on every link, each keeping it until acknowledged; returns
   * the links it went to. With no link at all it is a NO_PEER error saying
   * how to get one (`hint`).
   */
  send(text: string, hint: string): PeerInfo[] {
    if (this.links.length === 0) throw new PeerlinkError('NO_PEER', hint)
    for (const {link} of this.links) link.send(text)
    return this.info()
  }

  /** Drops the link to `url`: its unacknowledged messages are reported failed with `failReason` (the outbox keeps them), and it is closed. */
  drop(url: string, failReason: string, why: string): void {
    const i = this.links.findIndex((p) => p.link.url === url)
    if (i < 0) return
    const [{link}] = this.links.splice(i, 1)
    this.failPending(link, failReason)
    this.report({event: 'peer_disconnected', peer: link.peerName, url: link.url, reason: why, dropped: true})
    const closing = link.close(1001, why).finally(() => this.closing.delete(closing))
    this.closing.add(closing)
    this.wake()
  }

  /**
   * Resolves once every link's messages are acknowledged, at most
   * `timeoutMs`; true when the outbox is empty then (false too when it still
   * holds messages for a peer that was dropped or is not linked in this run).
   */
  async drained(timeoutMs: number): Promise<boolean> {
    const done = await settle(
      () => this.outbox === 0,
      (wake) => {
        this.wakers.add(wake)
        return () => this.wakers.delete(wake)
      },
      timeoutMs,
    )
    return done && this.store.size === 0
  }

  /** Stops: what is still unacknowledged is reported failed with `reason` (the outbox keeps it), every link is closed with 1001. */
  async close(reason: string): Promise<void> {
    for (const {link} of this.links) this.failPending(link, reason)
    await Promise.all([...this.links.map(({link}) => link.close(1001, 'going away')), ...this.closing])
  }

  /** Gives up the link's unacknowledged messages, reporting each as failed. */
  private failPending(link: OutboundLink, reason: string): void {
    const to = link.peerName
    for (const text of link.abandon()) this.report({event: 'message_failed', text, to, reason})
  }

  private wake(): void {
    for (const w of this.wakers) w()
  }
}

import type {Link} from '../client/link.js'
import type {NodeEvent} from '../node/events.js'
import type {PeerInfo, PeerNode} from '../node/node.js'
import {formatClientTable} from '../client/clients.js'
import {PeerlinkError} from '../protocol/errors.js'
import {escapeForTerminal} from '../protocol/terminal-text.js'
import {reportLinkEvents} from '../node/link-events.js'
import type {ReplTarget} from './repl.js'

/** The REPL's view of a node: what `1 <message>`, `peers`, `stats`... do and how they read. */
export function nodeTarget(node: PeerNode): ReplTarget {
  return {
    name: node.name,
    get outbox() {
      return node.outbox
    },
    send(text) {
      const peers = node.send(text)
      const down = peers.filter((p) => !p.up).map((p) => p.name)
      return down.length > 0 ? `queued for ${down.join(', ')} (not connected yet); sent when the link is up` : undefined
    },
    drain: (ms) => node.drain(ms),
    stop: (code, reason) => node.stop(code, reason),
    report: (ev) => node.report(ev),
    async answer(kind, arg) {
      switch (kind) {
        case 'peers': {
          const peers = node.peerInfo()
          const msg =
            peers.length === 0
              ? 'no peer links (start with --peer URL)'
              : peers.map(formatPeer).join('\n')
          return {msg, data: peers}
        }
        case 'stats': {
          const stats = node.stats()
          return {msg: Object.entries(stats).map(([k, v]) => `${k}=${v}`).join(' '), data: stats}
        }
        case 'clients': {
          const list = node.table.toJson()
          return {msg: formatClientTable(list), data: list}
        }
        case 'time': {
          const found = node.table.find(arg ?? '')
          if ('error' in found) throw new PeerlinkError('NOT_FOUND', `${found.error} (see "clients")`)
          const {id, name} = found.entry
          const answer = await node.askClient(id, 'system-time')
          const ts = typeof answer.ts === 'string' ? answer.ts : JSON.stringify(answer)
          return {msg: `${escapeForTerminal(name)} (${id}): ${escapeForTerminal(ts)}`, data: {id, name, ts}}
        }
        default:
          throw new PeerlinkError('NOT_FOUND', `"${kind}" is not available in this version`)
      }
    },
  }
}

/** The wait before checking again whether a client has drained. */
const CLIENT_DRAIN_POLL_MS = 25

/**
 * The REPL's view of a bare client (`connect`): one reconnecting {@link Link}
 * to a node. Its events become the same {@link NodeEvent}s a node reports, so
 * both renderers work unchanged. `emit` receives every event.
 */
export function clientTarget(name: string, link: Link, emit: (ev: NodeEvent) => void): ReplTarget {
  const peer = () => link.remoteName ?? link.url
  reportLinkEvents(link, emit)

  return {
    name,
    get outbox() {
      return link.pendingCount
    },
    send(text) {
      link.send(text)
      return link.isUp ? undefined : `queued (not connected to ${link.url} yet); sent when connected`
    },
    /** Waits until own messages are acknowledged and no acknowledgement is owed (a held Y would cost its sender a timeout). */
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs
      while ((link.pendingCount > 0 || link.owedCount > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(CLIENT_DRAIN_POLL_MS, deadline - Date.now())))
      }
      return link.pendingCount === 0
    },
    async stop(code, reason = 'client stopped') {
      for (const text of link.abandon()) emit({event: 'message_failed', text, to: peer(), reason})
      await link.close(1001, 'going away')
      emit({event: 'stopped', code})
    },
    report: emit,
    async answer(kind) {
      switch (kind) {
        case 'peers': {
          const info = {url: link.url, name: peer(), up: link.isUp, pending: link.pendingCount}
          const msg = formatPeer(info)
          return {msg, data: [info]}
        }
        case 'stats': {
          const stats = {name, id: link.id, up: link.isUp, outbox: link.pendingCount, owed: link.owedCount}
          return {msg: Object.entries(stats).map(([k, v]) => `${k}=${v}`).join(' '), data: stats}
        }
        default:
          throw new PeerlinkError('NOT_FOUND', `"${kind}" is not available in connect: it asks a node; use "peerlink ${kind} ${link.url}${kind === 'time' ? ' ID' : ''}"`)
      }
    },
  }
}

/** One line of the `peers` answer: `up   B ws://127.0.0.1:8081/ws unacknowledged=0`. */
function formatPeer(p: PeerInfo): string {
  const name = escapeForTerminal(p.name)
  return `${p.up ? 'up  ' : 'down'} ${p.name === p.url ? p.url : `${name} ${p.url}`} unacknowledged=${p.pending}`
}

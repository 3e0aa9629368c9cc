import {formatClientTable, type ClientListEntry} from '../client/clients.js'
import type {NodeEvent} from '../node/events.js'
import {PeerlinkError} from '../protocol/errors.js'
import {formatPeer, formatStats, type PeerLine} from './format.js'
import type {ReplTarget} from './repl.js'
import {escapeForTerminal} from '../protocol/terminal-text.js'

/** What the REPL needs of a node (a PeerNode is one). */
export interface NodeView {
  readonly name: string
  readonly outbox: number
  /** sends `message text` on every peer link; returns the links it went to */
  send(text: string): PeerLine[]
  drain(timeoutMs: number): Promise<boolean>
  /** resolves once what was sent so far is in the outbox for good (at once in memory) */
  flushed(): Promise<void>
  stop(code: number, reason?: string): Promise<void>
  report(event: NodeEvent): void
  peerInfo(): PeerLine[]
  stats(): object
  readonly table: {
    toJson(): Record<string, ClientListEntry>
    find(idOrName: string): {entry: {id: string; name: string}} | {error: string}
  }
  askClient(id: string, command: string): Promise<Record<string, unknown>>
}

/** The REPL's view of a node: what `1 <message>`, `peers`, `stats`... do and how they read. */
export function nodeTarget(node: NodeView): ReplTarget {
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
      // the lines before this one are stored before it is answered: `stats`
      // after a burst shows what would survive a kill now
      await node.flushed()
      switch (kind) {
        case 'peers': {
          const peers = node.peerInfo()
          const msg = peers.length === 0 ? 'no peer links (start with --peer URL)' : peers.map(formatPeer).join('\n')
          return {msg, data: peers}
        }
        case 'stats': {
          const stats = node.stats()
          return {msg: formatStats(stats), data: stats}
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
          // name and clock came from the network: escaped within the line (the renderer escapes lines, not a newline in a field)
          return {msg: `${escapeForTerminal(name)} (${id}): ${escapeForTerminal(ts)}`, data: {id, name, ts}}
        }
        default:
          throw new PeerlinkError('NOT_FOUND', `"${kind}" is not available in this version`)
      }
    },
  }
}

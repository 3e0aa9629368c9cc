/** How the REPL's answers read for people; shared by the node's and the client's targets. Pure. */
import {escapeForTerminal} from '../protocol/terminal-text.js'

/** One peer link as the `peers` command shows it. */
export interface PeerLine {
  url: string
  name: string
  up: boolean
  pending: number
}

/** One line of the `peers` answer: `up   B ws://127.0.0.1:8081/ws unacknowledged=0`. The name came from the peer: escaped. */
export function formatPeer(p: PeerLine): string {
  return `${p.up ? 'up  ' : 'down'} ${p.name === p.url ? p.url : `${escapeForTerminal(p.name)} ${p.url}`} unacknowledged=${p.pending}`
}

/** The `stats` answer: `key=value` pairs on one line. */
export function formatStats(stats: object): string {
  return Object.entries(stats)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(' ')
}

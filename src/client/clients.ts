/** A node's client table as clients see it: fetching it (`peerlink clients`, `peerlink time`) and showing it. */
import {PeerlinkError} from '../protocol/errors.js'
import {escapeForTerminal} from '../protocol/terminal-text.js'
import type {DialOptions} from './dial.js'
import {callJson} from './http.js'
import {httpBase} from './urls.js'

/** One entry of `GET /clients` as a client reads it; other fields are ignored. */
export interface ClientListEntry {
  ip?: unknown
  port?: unknown
  connected?: unknown
  name?: unknown
  role?: unknown
  url?: unknown
}

const HEADERS = ['ID', 'NAME', 'ROLE', 'ADDRESS', 'LAST SEEN', 'URL']

/**
 * Formats a client list (`{"<uuid>": {ip, port, connected, name, role[, url]}}`) as aligned columns, one line per entry.
 * Every cell came from the network (anyone may register any name): control characters are shown escaped.
 */
export function formatClientTable(list: Record<string, ClientListEntry>): string {
  const ids = Object.keys(list)
  if (ids.length === 0) return 'no clients'
  const rows = ids.map((id) => {
    const e = list[id] ?? {}
    const ip = String(e.ip ?? '')
    const host = ip.includes(':') ? `[${ip}]` : ip
    return [id, String(e.name ?? ''), String(e.role ?? 'client'), `${host}:${String(e.port ?? '')}`, String(e.connected ?? ''), e.url === undefined ? '' : String(e.url)].map(escapeForTerminal)
  })
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [line(HEADERS), ...rows.map(line)].join('\n')
}

/** `GET /clients` of the node at `url` (http(s) or ws(s)). */
export async function fetchClients(url: string, client: DialOptions): Promise<Record<string, ClientListEntry>> {
  const list = await callJson(`${httpBase(url)}/clients`, client)
  if (list === null || typeof list !== 'object' || Array.isArray(list)) throw new PeerlinkError('BAD_RESPONSE', 'GET /clients: the answer is not a client list')
  return list as Record<string, ClientListEntry>
}

/**
 * Asks the node at `url` for the system time of its client `id`
 * (`GET /clients/:id/system-time`); resolves with the ISO timestamp. An
 * unknown id, a client without a live connection or one that does not answer
 * becomes a PeerlinkError carrying the node's one-line reason.
 */
export async function fetchClientTime(url: string, id: string, client: DialOptions): Promise<string> {
  const answer = await callJson<{ts?: unknown}>(`${httpBase(url)}/clients/${encodeURIComponent(id)}/system-time`, client)
  if (typeof answer?.ts !== 'string') throw new PeerlinkError('BAD_RESPONSE', 'GET system-time: the answer has no "ts"')
  return answer.ts
}

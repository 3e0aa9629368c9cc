/**
 * How a node's URLs are spelled: the one rule every client command (send,
 * connect, load, echo, clients, time) reads its URL by, the HTTP base, the
 * system-time URL of one of its clients. Pure.
 */
import {WS_PATH} from '../protocol/defaults.js'
import {PeerlinkError} from '../protocol/errors.js'

/** Where a client command reaches a node, read from the one URL the user gave. */
export interface NodeAddress {
  /** the WebSocket URL to dial: ws:// or wss://, the path as given or /ws when none was, the query as given */
  ws: string
  /** the base of the node's HTTP routes: http:// or https:// and host:port, no path */
  http: string
  /** the `token` query parameter, when the URL has one: the token of every call, HTTP ones included */
  token?: string
}

const SCHEMES = ['ws:', 'wss:', 'http:', 'https:']
/** scheme://authority at the start of a URL as typed: what follows is the path, query and fragment */
const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i

/**
 * The one URL rule of the client commands:
 * - the scheme says plain or TLS, not the kind of call: `ws://` and
 *   `http://` are the same node, so are `wss://` and `https://`;
 * - the path is the WebSocket endpoint. Only an absent path means `/ws`; an
 *   explicit one (`/`, `/ws/`, `/chat`) is dialled as given, so that a
 *   server that is not peerlink can be reached wherever it listens;
 * - HTTP routes (`/echo`, `/clients`, `/stats`) are at the root of the same
 *   host and port, whatever the path;
 * - the query is kept on the WebSocket URL, and `?token=T` is the token of
 *   every call (sent as `Authorization: Bearer T`, since the node reads
 *   `?token=` only on the upgrade);
 * - a fragment is dropped (a WebSocket URL may not have one).
 * Throws a one-line BAD_FLAG PeerlinkError for anything else.
 */
export function nodeAddress(input: string): NodeAddress {
  let u: URL
  try {
    u = new URL(input)
  } catch {
    throw new PeerlinkError('BAD_FLAG', `invalid URL "${input}": use e.g. ws://127.0.0.1:8080/ws or http://127.0.0.1:8080`)
  }
  if (!SCHEMES.includes(u.protocol)) throw new PeerlinkError('BAD_FLAG', `invalid URL "${input}": must start with http://, https://, ws:// or wss://`)
  const tls = u.protocol === 'wss:' || u.protocol === 'https:'
  // URL reads "ws://h:1" and "ws://h:1/" alike; only the text says whether a path was given
  const hasPath = input.replace(AUTHORITY, '').startsWith('/')
  const token = u.searchParams.get('token') ?? undefined
  u.protocol = tls ? 'wss:' : 'ws:'
  if (!hasPath) u.pathname = WS_PATH
  u.hash = ''
  return {ws: u.toString(), http: `${tls ? 'https:' : 'http:'}//${u.host}`, ...(token ? {token} : {})}
}

/** The http(s):// base of a node from any URL {@link nodeAddress} takes, e.g. ws://h:1/ws → http://h:1. */
export function httpBase(url: string): string {
  return nodeAddress(url).http
}

/**
 * The two lines a client prints when it is up (as the reverse-communication
 * seed does): its id, the node it is connected to, and the URL that asks it for
 * its system time. Print them once the server's `welcome` has settled the id.
 */
export function connectBanner(nodeUrl: string, clientId: string): [string, string] {
  const u = new URL(nodeUrl)
  const secure = u.protocol === 'wss:' || u.protocol === 'https:'
  const port = u.port === '' ? (secure ? '443' : '80') : u.port
  const hostPort = `${u.hostname}:${port}`
  return [
    `Client id ${clientId} is running, looking for a server at ${hostPort}`,
    `A GET request to ${secure ? 'https' : 'http'}://${hostPort}/clients/${clientId}/system-time will result in reporting this client's system time`,
  ]
}

/** The URL that asks the node at `nodeUrl` for the system time of its client `clientId`. */
export function systemTimeUrl(nodeUrl: string, clientId: string): string {
  return `${httpBase(nodeUrl)}/clients/${encodeURIComponent(clientId)}/system-time`
}

/** How a node's URLs are spelled: its HTTP base, its WebSocket endpoint, the system-time URL of one of its clients. Pure. */
import {WS_PATH} from '../protocol/defaults.js'

/** The http(s):// base of a node from its ws(s):// or http(s):// URL, e.g. ws://h:1/ws → http://h:1. */
export function httpBase(url: string): string {
  const u = new URL(url)
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:'
  return `${scheme}//${u.host}`
}

/** The ws(s):// endpoint of a node from a ws(s):// or http(s):// URL (path /ws when none is given). */
export function wsUrl(url: string): string {
  const u = new URL(url)
  if (u.protocol === 'http:') u.protocol = 'ws:'
  if (u.protocol === 'https:') u.protocol = 'wss:'
  if (u.pathname === '/' || u.pathname === '') u.pathname = WS_PATH
  return u.toString()
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

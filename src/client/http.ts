import http from 'node:http'
import https from 'node:https'
import {PeerlinkError} from '../protocol/errors.js'
import {authHeaders, type DialOptions} from './dial-options.js'
import {describeError} from './wire-errors.js'

export interface HttpResult {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

export interface RequestOptions {
  method?: string
  body?: string | Buffer
  contentType?: string
  timeoutMs?: number
  /** reuse connections (keep-alive) across many calls */
  agent?: http.Agent
}

/**
 * One HTTP(S) request to a node with the shared client options (token, CA,
 * --insecure). Network failures become a PeerlinkError with a readable line;
 * any HTTP status is returned, not thrown.
 */
export function request(url: string, client: DialOptions, opts: RequestOptions = {}): Promise<HttpResult> {
  const u = new URL(url)
  const mod = u.protocol === 'https:' ? https : http
  const headers: Record<string, string | number> = {...authHeaders(client.token)}
  if (opts.body !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json'
    headers['content-length'] = Buffer.byteLength(opts.body)
  }
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      {method: opts.method ?? 'GET', headers, ca: client.ca, rejectUnauthorized: !client.insecure, agent: opts.agent, timeout: opts.timeoutMs ?? 10_000},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks)}))
        res.on('error', (err) => reject(new PeerlinkError('UNREACHABLE', `${u.host}: ${describeError(err)}`)))
      },
    )
    const timeoutMs = opts.timeoutMs ?? 10_000
    let answered = false
    req.on('response', () => {
      answered = true
    })
    req.on('timeout', () => {
      // connected and then nothing is not the same trouble as no connection at all
      const connected = req.socket !== null && !req.socket.connecting
      const msg = connected ? `no answer within ${timeoutMs / 1000}s: the server accepted the connection but said nothing` : `could not connect within ${timeoutMs / 1000}s`
      req.destroy(Object.assign(new Error(msg), {code: connected ? 'PEERLINK_NO_ANSWER' : 'ETIMEDOUT'}))
    })
    const context = {url, ca: client.ca !== undefined, timeoutMs}
    req.on('error', (err) => reject(new PeerlinkError('UNREACHABLE', `${u.host}: ${describeError(err, {...context, beforeAnswer: !answered})}`)))
    req.end(opts.body)
  })
}

/**
 * A JSON call: sends `body` as JSON, parses the answer. A status of 400 and
 * above becomes a PeerlinkError carrying the server's `msg`.
 */
export async function callJson<T = unknown>(url: string, client: DialOptions, method = 'GET', body?: unknown): Promise<T> {
  const res = await request(url, client, {method, body: body === undefined ? undefined : JSON.stringify(body)})
  let parsed: unknown
  try {
    parsed = JSON.parse(res.body.toString('utf8'))
  } catch {
    throw new PeerlinkError('BAD_RESPONSE', `${method} ${url}: HTTP ${res.status} with a body that is not JSON`)
  }
  if (res.status >= 400) {
    const msg = (parsed as {msg?: unknown})?.msg
    const code = res.status === 401 || res.status === 403 ? 'REFUSED' : res.status === 404 ? 'NOT_FOUND' : 'BAD_RESPONSE'
    throw new PeerlinkError(code, `${method} ${new URL(url).pathname}: HTTP ${res.status}${typeof msg === 'string' ? ` ${msg}` : ''}`)
  }
  return parsed as T
}

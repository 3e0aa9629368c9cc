import http from 'node:http'
import https from 'node:https'
import {PeerlinkError} from '../protocol/errors.js'
import type {DialOptions} from './dial.js'
import {request, type HttpResult} from './http.js'
import {describeStatus} from './wire-errors.js'

/** What `peerlink echo` sends as the body's content type; the answer must carry the same. */
export const ECHO_CONTENT_TYPE = 'text/plain; charset=utf-8'

export interface EchoOptions {
  /** the node's http(s):// base, e.g. from httpBase() */
  base: string
  body: Buffer
  client: DialOptions
  contentType?: string
  /** reuse sockets across calls (keep-alive) */
  agent?: http.Agent
}

/**
 * Posts `body` to `/echo` and checks that the answer is the same bytes with
 * the same content type. Resolves with the round trip in ms; rejects with a
 * PeerlinkError whose message says what went wrong (refusal, status,
 * mismatch, network).
 */
export async function echoOnce(opts: EchoOptions): Promise<number> {
  const contentType = opts.contentType ?? ECHO_CONTENT_TYPE
  const started = performance.now()
  const res = await request(`${opts.base}/echo`, opts.client, {method: 'POST', body: opts.body, contentType, agent: opts.agent})
  const ms = performance.now() - started
  if (res.status !== 200) throw refusal(res)
  const mismatch = compareEcho(opts.body, contentType, res)
  if (mismatch) throw new PeerlinkError('MISMATCH', `echo mismatch: ${mismatch}`)
  return ms
}

/** Why an answer is not the echo of `sent`, or undefined when it is. Pure: exported for tests. */
export function compareEcho(sent: Buffer, contentType: string, res: Pick<HttpResult, 'body' | 'headers'>): string | undefined {
  const gotType = res.headers['content-type']
  if (gotType !== contentType) return `sent content-type "${contentType}", got ${gotType === undefined ? 'none' : `"${gotType}"`}`
  if (sent.equals(res.body)) return undefined
  let i = 0
  while (i < sent.length && i < res.body.length && sent[i] === res.body[i]) i++
  return `sent ${sent.length} bytes, got ${res.body.length} back, first difference at byte ${i}`
}

function refusal(res: HttpResult): PeerlinkError {
  let msg: string | undefined
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as {msg?: unknown}
    if (typeof parsed?.msg === 'string') msg = parsed.msg
  } catch {
    // not our JSON error: describe by status alone
  }
  if (res.status === 401 || res.status === 403) {
    return new PeerlinkError('REFUSED', `POST /echo refused: ${describeStatus(res.status)}${msg ? ` (server says: ${msg})` : ''}`)
  }
  return new PeerlinkError('BAD_RESPONSE', `POST /echo: HTTP ${res.status}${msg ? ` ${msg}` : ''}`)
}

export interface EchoRunOptions {
  base: string
  body: Buffer
  client: DialOptions
  count: number
  concurrency: number
}

export interface EchoSummary {
  url: string
  count: number
  ok: number
  failed: number
  bytes: number
  ms: number
  per_second: number
  /** the first failure, when there was one */
  error?: string
}

/**
 * Sends `count` verified echoes with at most `concurrency` in flight, over
 * keep-alive sockets so that the test measures the node, not TCP handshakes.
 * Never rejects: failures are counted and the first one is kept.
 */
export async function echoMany(opts: EchoRunOptions): Promise<EchoSummary> {
  const concurrency = Math.max(1, Math.min(opts.concurrency, opts.count))
  const agentOptions = {keepAlive: true, maxSockets: concurrency}
  const agent = opts.base.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
  let next = 0
  let ok = 0
  let failed = 0
  let firstError: string | undefined
  const started = performance.now()
  const worker = async () => {
    while (next < opts.count) {
      next++
      try {
        await echoOnce({base: opts.base, body: opts.body, client: opts.client, agent})
        ok++
      } catch (err) {
        failed++
        firstError ??= err instanceof Error ? err.message : String(err)
      }
    }
  }
  try {
    await Promise.all(Array.from({length: concurrency}, worker))
  } finally {
    agent.destroy()
  }
  const ms = performance.now() - started
  return {
    url: `${opts.base}/echo`,
    count: opts.count,
    ok,
    failed,
    bytes: opts.body.length,
    ms: Math.round(ms),
    per_second: ms > 0 ? Math.round((opts.count * 1000) / ms) : opts.count,
    ...(firstError === undefined ? {} : {error: firstError}),
  }
}

/** The one-line summary of a run, e.g. `500 echoes: 500 ok, 0 failed in 0.41s (1219 req/s)`. */
export function formatSummary(s: EchoSummary): string {
  return `${s.count} echoes of ${s.bytes} bytes: ${s.ok} ok, ${s.failed} failed in ${(s.ms / 1000).toFixed(2)}s (${s.per_second} req/s)`
}

/**
 * The peerlink wire protocol: one WebSocket text message is one frame, a verb,
 * one space, and a payload. Pure code: no sockets, no timers.
 */

/** What peers and clients say about themselves in their first frame. */
export interface Hello {
  id?: string
  name?: string
  port?: number
  role?: 'node' | 'client'
}

/**
 * A peerlink node marks its `101 Switching Protocols` with this header, so a
 * client knows to wait for the `welcome` that answers its hello (and need not
 * wait at all for a server that is not peerlink).
 */
export const PEERLINK_HEADER = 'x-peerlink'

/** The server's answer to a hello: the id that stands and the server's name. */
export interface Welcome {
  id: string
  name: string
}

export type Frame =
  | {verb: 'message'; text: string}
  | {verb: 'ok'; text: string}
  | {verb: 'hello'; hello: Hello}
  | {verb: 'welcome'; welcome: Welcome}
  | {verb: 'cmd'; n: number; name: string; arg?: string}
  | {verb: 'res'; n: number; body: Record<string, unknown>}
  | {verb: 'error'; text: string}

export type Decoded = {ok: true; frame: Frame} | {ok: false; error: string}

export const VERBS = ['message', 'ok', 'hello', 'welcome', 'cmd', 'res', 'error'] as const

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** True when `s` is a UUID in its canonical 8-4-4-4-12 hex form. */
export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s)
}

function fail(error: string): Decoded {
  return {ok: false, error}
}

function parseJsonObject(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json)
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // fall through: the caller reports bad JSON
  }
  return undefined
}

function decodeHello(json: string): Decoded {
  const body = parseJsonObject(json)
  if (!body) return fail('bad json in hello: expected an object like {"name":"A","role":"client"}')
  const hello: Hello = {}
  if (body.id !== undefined) {
    if (typeof body.id !== 'string') return fail('hello.id must be a string')
    hello.id = body.id
  }
  if (body.name !== undefined) {
    if (typeof body.name !== 'string') return fail('hello.name must be a string')
    hello.name = body.name
  }
  if (body.port !== undefined) {
    if (typeof body.port !== 'number' || !Number.isInteger(body.port) || body.port < 0 || body.port > 65535) {
      return fail('hello.port must be an integer from 0 to 65535')
    }
    hello.port = body.port
  }
  if (body.role !== undefined) {
    if (body.role !== 'node' && body.role !== 'client') return fail('hello.role must be "node" or "client"')
    hello.role = body.role
  }
  return {ok: true, frame: {verb: 'hello', hello}}
}

function decodeWelcome(json: string): Decoded {
  const body = parseJsonObject(json)
  if (!body || typeof body.id !== 'string' || typeof body.name !== 'string') {
    return fail('bad json in welcome: expected {"id":"...","name":"..."}')
  }
  return {ok: true, frame: {verb: 'welcome', welcome: {id: body.id, name: body.name}}}
}

const SEQ_RE = /^(0|[1-9]\d{0,15})$/

function decodeCmd(payload: string): Decoded {
  const m = /^(\S+) (\S+)(?: ([\s\S]*))?$/.exec(payload)
  if (!m || !SEQ_RE.test(m[1])) return fail('cmd needs a number and a command name: cmd N NAME [ARG]')
  const frame: Frame = {verb: 'cmd', n: Number(m[1]), name: m[2]}
  if (m[3] !== undefined) frame.arg = m[3]
  return {ok: true, frame}
}

function decodeRes(payload: string): Decoded {
  const space = payload.indexOf(' ')
  const seq = space < 0 ? payload : payload.slice(0, space)
  if (!SEQ_RE.test(seq)) return fail('res needs a number and a JSON object: res N {json}')
  const body = space < 0 ? undefined : parseJsonObject(payload.slice(space + 1))
  if (!body) return fail('bad json in res: expected an object such as {"ts":"..."}')
  return {ok: true, frame: {verb: 'res', n: Number(seq), body}}
}

/**
 * Decodes one text frame. Never throws: invalid input comes back as
 * `{ok: false, error}` with a one-line reason fit to send in an `error` frame.
 */
export function decodeFrame(data: string): Decoded {
  // The two verbs of the hot path are tested first and without a regex.
  if (data.startsWith('message ')) {
    return data.length > 8 ? {ok: true, frame: {verb: 'message', text: data.slice(8)}} : fail('empty message: send "message <text>"')
  }
  if (data.startsWith('ok ')) {
    return data.length > 3 ? {ok: true, frame: {verb: 'ok', text: data.slice(3)}} : fail('empty ok: send "ok <text>"')
  }
  const space = data.indexOf(' ')
  const verb = space < 0 ? data : data.slice(0, space)
  const payload = space < 0 ? '' : data.slice(space + 1)
  switch (verb) {
    case 'message':
      return fail('empty message: send "message <text>"')
    case 'ok':
      return fail('empty ok: send "ok <text>"')
    case 'hello':
      return decodeHello(payload)
    case 'welcome':
      return decodeWelcome(payload)
    case 'cmd':
      return decodeCmd(payload)
    case 'res':
      return decodeRes(payload)
    case 'error':
      return {ok: true, frame: {verb: 'error', text: payload}}
    default: {
      // JSON-quoted so that a verb holding a newline still makes a one-line reason
      const shown = JSON.stringify(verb.length > 32 ? `${verb.slice(0, 32)}…` : verb)
      return fail(verb === '' ? 'empty frame: expected "message <text>"' : `unknown verb ${shown}: expected one of ${VERBS.join(', ')}`)
    }
  }
}

/** The two verbs of the relay's hot path, as {@link hotVerb} names them. */
export type HotVerb = 'message' | 'ok'

const MESSAGE_PREFIX = 'message '
const OK_PREFIX = 'ok '
/** Where the payload of a hot frame starts: the bytes of its verb and the space (ASCII, one byte each). */
export const HOT_PAYLOAD_OFFSET: Readonly<Record<HotVerb, number>> = {message: MESSAGE_PREFIX.length, ok: OK_PREFIX.length}

function startsWithAscii(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length <= prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false
  return true
}

/**
 * The relay's fast path: `message X` or `ok X` (X not empty) read from the
 * frame's bytes, without decoding the rest. Undefined for every other frame,
 * which goes through {@link decodeFrame}. For valid UTF-8 `bytes` it agrees
 * with decodeFrame: the verb is the same, and the payload is
 * `payloadOf(bytes, verb)`, whose UTF-8 encoding is exactly the bytes after
 * the space (the verbs are ASCII, so the payload starts on a character).
 */
export function hotVerb(bytes: Uint8Array): HotVerb | undefined {
  // the first byte tells the two apart: a frame of neither verb costs one comparison
  if (bytes[0] === 0x6d) return startsWithAscii(bytes, MESSAGE_PREFIX) ? 'message' : undefined
  if (bytes[0] === 0x6f) return startsWithAscii(bytes, OK_PREFIX) ? 'ok' : undefined
  return undefined
}

/** The payload of a frame {@link hotVerb} named `verb`: the text after the verb and its space. */
export function payloadOf(bytes: Buffer, verb: HotVerb): string {
  return bytes.toString('utf8', HOT_PAYLOAD_OFFSET[verb])
}

/** Encodes a frame as the text of one WebSocket message. */
export function encodeFrame(frame: Frame): string {
  switch (frame.verb) {
    case 'message':
    case 'ok':
    case 'error':
      return `${frame.verb} ${frame.text}`
    case 'hello':
      return `hello ${JSON.stringify(frame.hello)}`
    case 'welcome':
      return `welcome ${JSON.stringify(frame.welcome)}`
    case 'cmd':
      return frame.arg === undefined ? `cmd ${frame.n} ${frame.name}` : `cmd ${frame.n} ${frame.name} ${frame.arg}`
    case 'res':
      return `res ${frame.n} ${JSON.stringify(frame.body)}`
  }
}

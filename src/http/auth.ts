import crypto, {createHash, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {isConsoleAsset} from './console.js'
import {METRICS_PATH} from './metrics.js'
import {sendError, WWW_AUTHENTICATE, type Refusal} from './respond.js'

/** Routes anyone may call without the token (and the console's static files, which hold no data). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz'])

export interface GuardOptions {
  /** the shared token; undefined turns auth off (`--no-auth`) */
  token: string | undefined
  /** whether the node serves https/wss: the scheme of its own origin */
  tls: boolean
  /** origins besides the node's own whose pages may open a WebSocket (`--allow-origin`), e.g. `http://localhost:3000`, or `null` */
  allowedOrigins: readonly string[]
  /** serve {@link METRICS_PATH} without the token (`--metrics-public`) */
  metricsPublic?: boolean
}

export interface Guards {
  /** for NodeServer's `checkUpgrade`: token first, then Origin */
  checkUpgrade: (req: IncomingMessage) => Refusal | undefined
  /** for PeerNode's `guardRequest`: answers 401 and returns true when the token is missing or wrong */
  guardRequest: (req: IncomingMessage, res: ServerResponse) => boolean
}

/**
 * The token a request carries: `Authorization: Bearer T`, `Token: T`, or, when
 * `allowQuery` (the WebSocket URL: browsers cannot set headers on an upgrade),
 * `?token=T`.
 */
export function requestToken(req: IncomingMessage, allowQuery: boolean): string | undefined {
  const authorization = req.headers.authorization
  if (authorization) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
    if (m) return m[1]
  }
  const header = req.headers.token
  if (typeof header === 'string' && header.trim() !== '') return header.trim()
  if (allowQuery) {
    const query = queryOf(req.url)
    const fromQuery = query?.get('token')
    if (fromQuery) return fromQuery
  }
  return undefined
}

/**
 * Compares two tokens in constant time: the time depends on neither the
 * real token's content nor its length (see {@link tokenMatcher}).
 */
export function tokensEqual(given: string, expected: string): boolean {
  return tokenMatcher(expected)(given)
}

/**
 * Tokens up to this many bytes are compared without hashing: both sides
 * padded with zeros to this length.
 */
export const TOKEN_WINDOW_BYTES = 256

/**
 * {@link tokensEqual} against one expected token: a node checks the token
 * of every upgrade and request.
 *
 * A token of up to {@link TOKEN_WINDOW_BYTES} bytes (any a person or
 * `peerlink` makes) is compared as a fixed window: the given token is
 * written into a zeroed buffer of that size (cut at its end), compared with
 * the expected one padded the same way by `timingSafeEqual`, and its byte
 * length compared with the expected one's. Every step takes a time set by
 * the window or by the given token, never by the expected one. It costs a
 * quarter of hashing the given token with SHA-256, which a longer expected
 * token still gets: the hashes are of equal length whatever the inputs.
 */
export function tokenMatcher(expected: string): (given: string) => boolean {
  const expectedBytes = Buffer.from(expected, 'utf8')
  if (expectedBytes.length > TOKEN_WINDOW_BYTES) {
    const digest = sha256(expected)
    return (given) => timingSafeEqual(sha256(given), digest)
  }
  const padded = Buffer.alloc(TOKEN_WINDOW_BYTES)
  expectedBytes.copy(padded)
  const length = expectedBytes.length
  const window = Buffer.alloc(TOKEN_WINDOW_BYTES)
  return (given) => {
    window.fill(0)
    window.write(given, 'utf8')
    const sameWindow = timingSafeEqual(window, padded)
    const sameLength = Buffer.byteLength(given, 'utf8') === length
    return sameWindow && sameLength
  }
}

/** One-shot `crypto.hash` where Node has it (20.12 and later): about half the cost of a Hash object. */
const sha256: (text: string) => Buffer =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'buffer') : (text) => createHash('sha256').update(text).digest()

/** Why a request is not authorized, or undefined when it is; `matches` undefined means no token is required. */
function authFailure(req: IncomingMessage, matches: ((given: string) => boolean) | undefined, allowQuery: boolean): string | undefined {
  if (matches === undefined) return undefined
  const given = requestToken(req, allowQuery)
  if (given === undefined) return 'token required: send "Authorization: Bearer <token>" (peerlink clients: --token or PEERLINK_TOKEN)'
  if (!matches(given)) return 'wrong token'
  return undefined
}

/**
 * Why an upgrade's Origin is refused, or undefined when it is fine. No Origin
 * (a CLI, a server) is fine; a browser page may open a WebSocket only from the
 * node's own origin (scheme, host and port, taken from the Host it asked for)
 * or one listed in `allowed`. The node's own origin has the scheme of the
 * page that loaded from it: `https` when the node serves TLS, so an
 * `http://` origin sent to a wss endpoint is another origin. `Origin: null`
 * (a file:// page, a sandboxed iframe: any such page, so anyone) passes only
 * when `allowed` lists `null` itself.
 */
export function originFailure(req: IncomingMessage, tls: boolean, allowed: readonly string[]): string | undefined {
  const origin = req.headers.origin
  if (origin === undefined) return undefined
  if (origin === 'null') return allowed.includes('null') ? undefined : 'origin null (a file:// page or a sandboxed iframe) is not allowed (allow it with --allow-origin null)'
  const own = req.headers.host ? normalizeOrigin(`${tls ? 'https' : 'http'}://${req.headers.host}`) : undefined
  const given = normalizeOrigin(origin)
  if (given !== undefined && (given === own || allowed.includes(given))) return undefined
  const ownHint = own !== undefined && given !== undefined && new URL(given).host === new URL(own).host ? `; this node's own origin is ${own}` : ''
  return `origin ${origin} is not allowed (allow it with --allow-origin ${given ?? origin}${ownHint})`
}

/**
 * The canonical form of an origin (`scheme://host[:port]`, default port
 * dropped, host lowercased), or undefined when `text` is not an http(s) origin.
 */
export function normalizeOrigin(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  return url.origin
}

/** The node's checks before a request or upgrade reaches it: token (401) before Origin (403). */
export function createGuards(opts: GuardOptions): Guards {
  const allowed = opts.allowedOrigins.map((o) => (o === 'null' ? o : (normalizeOrigin(o) ?? o)))
  const matches = opts.token === undefined ? undefined : tokenMatcher(opts.token)
  return {
    checkUpgrade(req) {
      const auth = authFailure(req, matches, true)
      if (auth) return {status: 401, msg: auth, headers: {'www-authenticate': WWW_AUTHENTICATE}}
      const origin = originFailure(req, opts.tls, allowed)
      if (origin) return {status: 403, msg: origin}
      return undefined
    },
    guardRequest(req, res) {
      const path = pathOf(req.url)
      if (PUBLIC_PATHS.has(path) || isConsoleAsset(path) || (opts.metricsPublic && path === METRICS_PATH)) return false
      const auth = authFailure(req, matches, false)
      if (!auth) return false
      res.setHeader('www-authenticate', WWW_AUTHENTICATE)
      // Whatever body was sent is not read: closing (with the server's lingering close) spares us reading it all.
      res.setHeader('connection', 'close')
      sendError(res, 401, auth)
      return true
    },
  }
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/'
  const q = raw.indexOf('?')
  return q < 0 ? raw : raw.slice(0, q)
}

function queryOf(url: string | undefined): URLSearchParams | undefined {
  const raw = url ?? '/'
  const q = raw.indexOf('?')
  return q < 0 ? undefined : new URLSearchParams(raw.slice(q + 1))
}

/**
 * Turns what happened on the wire into one line a user can act on: the HTTP
 * status of a refused upgrade, a close code and reason, a socket error code.
 * Also says which of those no retry can fix ({@link isFatalDialFailure}).
 */

/** What a caller knew when the error happened, for a sharper line. */
export interface WireContext {
  /** the URL being dialled or called */
  url?: string
  /** whether a CA was given (--ca) */
  ca?: boolean
  /** the timeout that expired, if one did */
  timeoutMs?: number
  /** no answer had come yet (a reset then means something else than mid-conversation) */
  beforeAnswer?: boolean
}

/** Context noted by whoever saw an error first (dial), read by whoever describes it later (the link). */
const noted = new WeakMap<object, WireContext>()

/** Records what was known when `err` happened, for {@link describeError}. */
export function noteContext(err: unknown, context: WireContext): void {
  if (typeof err === 'object' && err !== null) noted.set(err, context)
}

/** Lines no retry can change: a refusal by token, origin or path, a certificate, TLS on one side only, a server that never answers. */
const FATAL = /^(HTTP (401|403|404)\b|untrusted certificate|certificate is for |certificate has expired|certificate is not valid yet|the server answered without TLS|no answer to the WebSocket handshake)/

/** True when a dial failed for a reason a retry cannot fix: fail at once, as a 401 does. */
export function isFatalDialFailure(reason: string): boolean {
  return FATAL.test(reason)
}

const CLOSE_CODES: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1005: 'no status',
  1006: 'connection lost',
  1007: 'invalid UTF-8',
  1008: 'policy violation',
  1009: 'message too big',
  1011: 'server error',
  4000: 'ack timeout',
}

const HTTP_HINTS: Record<number, string> = {
  401: 'unauthorized: wrong or missing token (use --token or PEERLINK_TOKEN)',
  403: 'forbidden: origin not allowed',
  404: 'not found: is the path /ws?',
}

/** Describes a WebSocket close code and reason, e.g. `closed 1009 (message too big)`. */
export function describeClose(code: number, reason = ''): string {
  const name = CLOSE_CODES[code] ?? 'closed'
  return reason && reason !== name ? `closed ${code} (${name}: ${reason})` : `closed ${code} (${name})`
}

/** Describes a refused upgrade by its HTTP status. */
export function describeStatus(status: number): string {
  return `HTTP ${status} ${HTTP_HINTS[status] ?? 'refused the upgrade'}`
}

/** Describes an error from dialing or a socket in one line; `context` defaults to what was noted for it. */
export function describeError(err: unknown, context: WireContext = (typeof err === 'object' && err !== null && noted.get(err)) || {}): string {
  const e = err as NodeJS.ErrnoException & {reason?: string; host?: string; cert?: {subjectaltname?: string; subject?: {CN?: string}}}
  const refused = /Unexpected server response: (\d+)/.exec(e?.message ?? '')
  if (refused) return describeStatus(Number(refused[1]))
  if (e?.message === 'Opening handshake has timed out') {
    const within = context.timeoutMs === undefined ? '' : ` within ${context.timeoutMs / 1000}s`
    return `no answer to the WebSocket handshake${within} (is something other than a WebSocket server listening there, or is it overloaded?)`
  }
  const url = context.url === undefined ? undefined : URL.canParse(context.url) ? new URL(context.url) : undefined
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listening there yet?)'
    case 'ECONNRESET':
      // A TLS server drops a plain request without a word: say so when the URL is plain.
      if (context.beforeAnswer && url && (url.protocol === 'ws:' || url.protocol === 'http:')) {
        return `connection reset before any answer: if ${url.host} serves TLS, use ${url.protocol === 'ws:' ? 'wss' : 'https'}://`
      }
      return 'connection reset by the other side'
    case 'PEERLINK_NO_ANSWER':
      return e.message
    case 'ETIMEDOUT':
      return 'connection timed out'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${(e as {hostname?: string}).hostname ?? "unknown host"})`
    case 'EADDRNOTAVAIL':
      return 'no local address or port available'
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files'
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      const names = certificateNames(e.cert)
      const host = e.host ?? url?.hostname ?? 'this host'
      return `certificate is for ${names ?? 'other names'}, not ${host} (${e.code}): dial a name it lists, or give the node a certificate for ${host}`
    }
    case 'CERT_HAS_EXPIRED':
      return `certificate has expired (${e.code}): the node needs a new one`
    case 'CERT_NOT_YET_VALID':
      return `certificate is not valid yet (${e.code}): check the clocks of both machines`
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_UNTRUSTED':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return context.ca ? `untrusted certificate (${e.code}): not signed by the CA in --ca` : `untrusted certificate (${e.code}): pass --ca FILE or --insecure`
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `the server answered without TLS (${e.code}): use ${url?.protocol === 'https:' ? 'http' : 'ws'}:// for it`
    case 'EPROTO':
      return 'TLS handshake failed: does the server speak https/wss (or plain http/ws, and the URL says https/wss)?'
    default: {
      const msg = e instanceof Error ? e.message : String(err)
      return msg.split('\n')[0]
    }
  }
}

/** The names a certificate is for, from its subjectAltName (`DNS:a, IP Address:1.2.3.4`), else its CN. */
function certificateNames(cert: {subjectaltname?: string; subject?: {CN?: string}} | undefined): string | undefined {
  const alt = cert?.subjectaltname
    ?.split(',')
    .map((n) => n.trim().replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean)
  if (alt && alt.length > 0) return alt.join(', ')
  return cert?.subject?.CN
}

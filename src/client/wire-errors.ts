/**
 * Turns what happened on the wire into one line a user can act on: the HTTP
 * status of a refused upgrade, a close code and reason, a socket error code.
 */

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

/** Describes an error from dialing or a socket in one line. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  const refused = /Unexpected server response: (\d+)/.exec(e?.message ?? '')
  if (refused) return describeStatus(Number(refused[1]))
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listening there yet?)'
    case 'ECONNRESET':
      return 'connection reset by the other side'
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
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'CERT_UNTRUSTED':
    case 'CERT_NOT_YET_VALID':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return `untrusted certificate (${e.code}): pass --ca FILE or --insecure`
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'TLS handshake failed: does the server speak https/wss (or plain http/ws, and the URL says https/wss)?'
    default: {
      const msg = e instanceof Error ? e.message : String(err)
      return msg.split('\n')[0]
    }
  }
}

import type {IncomingMessage, ServerResponse} from 'node:http'

/** A refusal of an upgrade or request before it reaches a handler: its status, one-line reason and any headers the status calls for. */
export interface Refusal {
  status: number
  msg: string
  headers?: Record<string, string>
}

/** The challenge every 401 carries (RFC 9110 §11.6.1): the token goes in `Authorization: Bearer`. */
export const WWW_AUTHENTICATE = 'Bearer realm="peerlink"'

/** HTTP bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024

/** Writes `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text)})
  res.end(text)
}

/** Writes the one error shape every route uses: `{"error": true, "msg": "..."}` (plus any extra fields). */
export function sendError(res: ServerResponse, status: number, msg: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, {error: true, msg, ...extra})
}

/** An HTTP failure a handler can throw; the router answers it with {@link sendError}. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** headers of the answer, e.g. `connection: close` */
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

/**
 * Reads a request body up to {@link MAX_BODY_BYTES}; throws HttpError 413
 * beyond it (by its Content-Length, or once a streamed body passes the
 * limit). The 413 says `connection: close`: the rest of the body is never
 * read into memory, and the server's lingering close drains it so that the
 * client reads the answer instead of a reset. The request is never destroyed
 * here: that would reset the connection before the answer is out.
 */
export function readBody(req: IncomingMessage, limitBytes = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `body too large: at most ${limitBytes} bytes`, {}, {connection: 'close'})
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limitBytes) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limitBytes) return void chunks.push(chunk)
      req.off('data', onData)
      req.off('end', onEnd)
      // keep the bytes flowing (and dropped) until the answer is out and the server closes
      req.resume()
      reject(tooLarge())
    }
    const onEnd = () => resolve(Buffer.concat(chunks))
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', reject)
  })
}

/** Reads and parses a JSON body; throws HttpError 400 when it is not JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req)
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new HttpError(400, 'body is not valid JSON')
  }
}

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

/** Reads a request body up to {@link MAX_BODY_BYTES}; throws HttpError 413 beyond it. */
export async function readBody(req: IncomingMessage, limitBytes = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume()
    throw new HttpError(413, `body too large: at most ${limitBytes} bytes`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limitBytes) {
      req.resume()
      throw new HttpError(413, `body too large: at most ${limitBytes} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
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

import type {IncomingMessage, ServerResponse} from 'node:http'
import {readBody} from './respond.js'

/** The content type answered when a request named none. */
const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/**
 * `POST /echo`: answers the request body verbatim, bytes and content type
 * kept. The body is read as a Buffer and never decoded, so invalid UTF-8 and
 * any encoding come back unchanged. Bodies over 1 MiB get 413 (readBody).
 */
export async function echo(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req)
  res.writeHead(200, {'content-type': req.headers['content-type'] ?? DEFAULT_CONTENT_TYPE, 'content-length': body.length})
  res.end(body)
}

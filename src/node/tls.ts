import {readFileSync} from 'node:fs'
import tls from 'node:tls'
import {PeerlinkError} from '../protocol/errors.js'

export interface ServerTls {
  cert: Buffer
  key: Buffer
}

/**
 * Reads `--tls-cert`/`--tls-key` once, at the edge. Both or neither; a file
 * that cannot be read, or a certificate and key that do not make a TLS
 * context together, is a one-line flag error (exit 2) instead of a stack from
 * deep inside https.createServer.
 */
export function loadServerTls(certFile: string | undefined, keyFile: string | undefined): ServerTls | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined) throw new PeerlinkError('BAD_FLAG', '--tls-key needs --tls-cert too')
  if (keyFile === undefined) throw new PeerlinkError('BAD_FLAG', '--tls-cert needs --tls-key too')
  const cert = readPem('--tls-cert', certFile)
  const key = readPem('--tls-key', keyFile)
  try {
    tls.createSecureContext({cert, key})
  } catch (err) {
    const reason = ((err as Error).message ?? String(err)).split('\n')[0]
    throw new PeerlinkError('BAD_FLAG', `--tls-cert/--tls-key: ${certFile} and ${keyFile} are not a usable certificate and key (${reason})`)
  }
  return {cert, key}
}

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new PeerlinkError('BAD_FLAG', `${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

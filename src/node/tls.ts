import {createPrivateKey, X509Certificate, type KeyObject} from 'node:crypto'
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
 * deep inside https.createServer. So is a key that does not belong to the
 * certificate: OpenSSL takes an RSA certificate with an EC key without a
 * word, and then every handshake fails.
 */
export function loadServerTls(certFile: string | undefined, keyFile: string | undefined): ServerTls | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined) throw new PeerlinkError('BAD_FLAG', '--tls-key needs --tls-cert too')
  if (keyFile === undefined) throw new PeerlinkError('BAD_FLAG', '--tls-cert needs --tls-key too')
  const cert = readPem('--tls-cert', certFile)
  const key = readPem('--tls-key', keyFile)
  checkPair(cert, certFile, key, keyFile)
  try {
    tls.createSecureContext({cert, key})
  } catch (err) {
    const reason = ((err as Error).message ?? String(err)).split('\n')[0]
    throw new PeerlinkError('BAD_FLAG', `--tls-cert/--tls-key: ${certFile} and ${keyFile} are not a usable certificate and key (${reason})`)
  }
  return {cert, key}
}

/** Throws a one-line BAD_FLAG unless `key` is the private key of the (first) certificate in `cert`. */
function checkPair(cert: Buffer, certFile: string, key: Buffer, keyFile: string): void {
  let x509: X509Certificate
  let privateKey: KeyObject
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw new PeerlinkError('BAD_FLAG', `--tls-cert: ${certFile} is not a PEM certificate (${firstLine(err)})`)
  }
  try {
    privateKey = createPrivateKey(key)
  } catch (err) {
    throw new PeerlinkError('BAD_FLAG', `--tls-key: ${keyFile} is not a usable PEM private key (${firstLine(err)})`)
  }
  const keyType = privateKey.asymmetricKeyType ?? 'unknown'
  const certType = x509.publicKey.asymmetricKeyType ?? 'unknown'
  if (keyType !== certType) {
    throw new PeerlinkError('BAD_FLAG', `--tls-key: ${keyFile} is an ${keyType} key, but the certificate ${certFile} holds an ${certType} key: give the key the certificate was made for`)
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new PeerlinkError('BAD_FLAG', `--tls-key: ${keyFile} does not belong to the certificate ${certFile} (both ${keyType}, different keys)`)
  }
}

function firstLine(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0]
}

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new PeerlinkError('BAD_FLAG', `${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

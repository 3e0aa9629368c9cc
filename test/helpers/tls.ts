import {execFileSync} from 'node:child_process'
import path from 'node:path'
import {tempDir} from './temp.js'

export interface TestCert {
  dir: string
  cert: string
  key: string
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, made at run time in
 * a temp folder (no key is ever committed). Being self-signed, it is also the
 * CA a client passes with --ca.
 */
export function makeCert(): TestCert {
  const dir = tempDir('peerlink-tls-')
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    {stdio: 'pipe'},
  )
  return {dir, cert, key}
}

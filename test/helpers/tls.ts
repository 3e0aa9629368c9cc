import {execFileSync} from 'node:child_process'
import path from 'node:path'
import {tempDir} from './temp.js'

export interface TestCert {
  dir: string
  cert: string
  key: string
}

/**
 * A self-signed certificate for localhost and 127.0.0.1 (or the names given), made at run time in
 * a temp folder (no key is ever committed). Being self-signed, it is also the
 * CA a client passes with --ca.
 */
export function makeCert(opts: {cn?: string; altNames?: string} = {}): TestCert {
  const dir = tempDir('peerlink-tls-')
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', cert, '-subj', `/CN=${opts.cn ?? 'localhost'}`, '-addext', `subjectAltName=${opts.altNames ?? 'IP:127.0.0.1,DNS:localhost'}`],
    {stdio: 'pipe'},
  )
  return {dir, cert, key}
}

/** An EC (P-256) private key in `dir`: a key of another type than makeCert's RSA certificate. */
export function makeEcKey(dir: string): string {
  const key = path.join(dir, 'ec-key.pem')
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], {stdio: 'pipe'})
  return key
}

/** A second RSA key in `dir` that belongs to no certificate. */
export function makeRsaKey(dir: string): string {
  const key = path.join(dir, 'other-key.pem')
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key], {stdio: 'pipe'})
  return key
}

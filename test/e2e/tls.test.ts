import {readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cliEnv, freePort, runCli, startNode, type Spawned} from '../helpers/cli.js'
import {makeCert, makeEcKey, makeRsaKey, type TestCert} from '../helpers/tls.js'
import {TestClient} from '../helpers/ws.js'

const TOKEN = 'tls-token'

async function stop(node: Spawned): Promise<void> {
  node.kill('SIGTERM')
  await node.exited
}

describe('TLS', () => {
  let cert: TestCert
  let node: Awaited<ReturnType<typeof startNode>>
  const env = cliEnv({PEERLINK_TOKEN: TOKEN})

  beforeAll(async () => {
    cert = makeCert()
    node = await startNode(['secure', '--port', '0', '--no-repl', '--token', TOKEN, '--tls-cert', cert.cert, '--tls-key', cert.key])
  })
  afterAll(async () => {
    await stop(node)
    rmSync(cert.dir, {recursive: true, force: true})
  })

  it('serves wss:// on the port it announces', () => {
    expect(node.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/)
  })

  it('peerlink echo works over https with --ca', async () => {
    const res = await runCli(['echo', `https://127.0.0.1:${node.port}`, 'secret', 'hello', '--ca', cert.cert], {env})
    expect(res.stderr).toBe('')
    expect(res.stdout).toBe('secret hello\n')
    expect(res.code).toBe(0)
  })

  it('peerlink echo to the wss:// URL with --insecure works too', async () => {
    const res = await runCli(['echo', node.url, 'hi', '--insecure', '--count', '20', '--concurrency', '5'], {env})
    expect(res.stdout).toMatch(/20 ok, 0 failed/)
    expect(res.code).toBe(0)
  })

  it('without --ca: one clear line about the certificate, exit 1, no stack', async () => {
    const res = await runCli(['echo', node.url, 'hi'], {env})
    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toMatch(/^error: .*untrusted certificate .*--ca FILE or --insecure\n$/)
  })

  it('a raw wss client with the CA and the token is relayed', async () => {
    const client = await new TestClient(node.url, {ca: readFileSync(cert.cert), headers: {authorization: `Bearer ${TOKEN}`}}).open()
    client.send('message over tls')
    expect(await client.waitFor((f) => f.startsWith('message '))).toBe('message over tls')
    await client.close()
  })

  it('plain http to the TLS port does not crash the node', async () => {
    const res = await runCli(['echo', `http://127.0.0.1:${node.port}`, 'hi'], {env})
    expect(res.code).toBe(1)
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    const ok = await runCli(['echo', node.url, 'still', 'up', '--ca', cert.cert], {env})
    expect(ok.stdout).toBe('still up\n')
  })

  it('two TLS nodes link up over wss:// with --ca for their peer links', async () => {
    const [portA, portB] = [await freePort(), await freePort()]
    const tls = ['--tls-cert', cert.cert, '--tls-key', cert.key, '--ca', cert.cert, '--token', TOKEN, '--no-repl', '--grace', '0']
    const [a, b] = await Promise.all([
      startNode(['A', '--port', String(portA), '--peer', `wss://localhost:${portB}/ws`, ...tls]),
      startNode(['B', '--port', String(portB), '--peer', `wss://127.0.0.1:${portA}/ws`, ...tls]),
    ])
    try {
      await a.waitForOutput(/"event":"peer_connected"/)
      await b.waitForOutput(/"event":"peer_connected"/)
    } finally {
      await Promise.all([stop(a), stop(b)])
    }
  })

  it('a node whose peer link lacks --ca says why (untrusted certificate)', async () => {
    const dialer = await startNode(['D', '--port', '0', '--no-repl', '--grace', '0', '--token', TOKEN, '--peer', node.url])
    try {
      await dialer.waitForOutput(/"event":"peer_disconnected".*untrusted certificate/)
    } finally {
      await stop(dialer)
    }
  })
})

describe('TLS flag errors', () => {
  let cert: TestCert
  beforeAll(() => {
    cert = makeCert()
  })
  afterAll(() => rmSync(cert.dir, {recursive: true, force: true}))

  const cases: Array<[string, () => string[], RegExp]> = [
    ['an unreadable certificate', () => ['--tls-cert', path.join(cert.dir, 'missing.pem'), '--tls-key', cert.key], /--tls-cert: cannot read .*ENOENT/],
    ['an unreadable key', () => ['--tls-cert', cert.cert, '--tls-key', path.join(cert.dir, 'missing.pem')], /--tls-key: cannot read/],
    ['a certificate without a key', () => ['--tls-cert', cert.cert], /--tls-cert needs --tls-key/],
    ['a key that is not PEM', () => ['--tls-cert', cert.cert, '--tls-key', cert.cert], /--tls-key: .* is not a usable PEM private key/],
    ['an RSA certificate with an EC key', () => ['--tls-cert', cert.cert, '--tls-key', makeEcKey(cert.dir)], /--tls-key: .*an ec key.*certificate .*holds an rsa key/],
    ['a key of the same type that belongs to another certificate', () => ['--tls-cert', cert.cert, '--tls-key', makeRsaKey(cert.dir)], /does not belong to the certificate/],
    ['an unreadable --ca', () => ['--ca', path.join(cert.dir, 'nope.pem')], /--ca: cannot read/],
    ['a bad --allow-origin', () => ['--allow-origin', 'http://x.test/path'], /origin/],
  ]
  for (const [what, args, message] of cases) {
    it(`refuses ${what} in one line, exit 2`, async () => {
      const res = await runCli(['start', 'x', '--port', '0', '--no-repl', ...args()])
      expect(res.code).toBe(2)
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
      expect(res.stderr).toMatch(message)
    })
  }
})

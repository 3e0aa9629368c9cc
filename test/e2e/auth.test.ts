import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cliEnv, events, freePort, runCli, startNode, type Spawned} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'
import {TestClient} from '../helpers/ws.js'

const TOKEN = 'test-token-123'

async function stop(node: Spawned): Promise<void> {
  node.kill('SIGTERM')
  await node.exited
}

describe('token auth', () => {
  let node: Awaited<ReturnType<typeof startNode>>

  beforeAll(async () => {
    node = await startNode(['guarded', '--port', '0', '--no-repl', '--token', TOKEN, '--allow-origin', 'http://app.test:3000'])
  })
  afterAll(() => stop(node))

  it('answers /healthz without a token', async () => {
    const res = await call(node.port, 'GET', '/healthz')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ok: true})
  })

  it('answers 401 JSON on every other route without the token, or with a wrong one', async () => {
    for (const [method, route] of [
      ['GET', '/stats'],
      ['POST', '/echo'],
      ['GET', '/no-such-route'],
      ['DELETE', '/stats'],
    ]) {
      for (const headers of [{}, bearer('wrong'), {token: 'wrong'}]) {
        const res = await call(node.port, method, route, {headers, body: method === 'POST' ? 'x' : undefined})
        expect(res.status, `${method} ${route} ${JSON.stringify(headers)}`).toBe(401)
        expect(res.json).toMatchObject({error: true, msg: expect.any(String)})
      }
    }
  })

  it('accepts the token as Authorization: Bearer or as a Token header', async () => {
    expect((await call(node.port, 'GET', '/stats', {headers: bearer(TOKEN)})).json).toMatchObject({name: 'guarded'})
    expect((await call(node.port, 'GET', '/stats', {headers: {token: TOKEN}})).status).toBe(200)
  })

  it('refuses the WebSocket upgrade with 401 before upgrading, without or with a wrong token', async () => {
    for (const url of [node.url, `${node.url}?token=wrong`]) {
      const client = new TestClient(url)
      await expect(client.open()).rejects.toThrow(/401/)
      await client.close()
    }
  })

  it('upgrades with the token as a header or as ?token= on the URL', async () => {
    const ways: Array<[string, {headers?: Record<string, string>}]> = [
      [node.url, {headers: bearer(TOKEN)}],
      [`${node.url}?token=${TOKEN}`, {}],
      [node.url, {headers: {token: TOKEN}}],
    ]
    // one at a time: the relay sends "message self" back only when this is the one connection open
    for (const [url, opts] of ways) {
      const client = await new TestClient(url, opts).open()
      client.send('message self')
      expect(await client.waitFor((f) => f === 'message self')).toBe('message self')
      await client.close()
    }
  })

  it('checks the token before the Origin: 401, then 403 for a foreign origin', async () => {
    const noToken = new TestClient(node.url, {headers: {origin: 'http://evil.test'}})
    await expect(noToken.open()).rejects.toThrow(/401/)
    const foreign = new TestClient(node.url, {headers: {...bearer(TOKEN), origin: 'http://evil.test'}})
    await expect(foreign.open()).rejects.toThrow(/403/)
    // the same host on another port is another origin
    const otherPort = new TestClient(node.url, {headers: {...bearer(TOKEN), origin: `http://127.0.0.1:${node.port + 1}`}})
    await expect(otherPort.open()).rejects.toThrow(/403/)
    await Promise.all([noToken.close(), foreign.close(), otherPort.close()])
  })

  it('lets the node\'s own origin and --allow-origin ones open a WebSocket', async () => {
    for (const origin of [`http://127.0.0.1:${node.port}`, 'http://app.test:3000']) {
      const client = new TestClient(node.url, {headers: {...bearer(TOKEN), origin}})
      await client.open()
      await client.close()
    }
  })
})

describe('Origin: null', () => {
  it('is refused 403 unless --allow-origin null asks for it, then let in', async () => {
    const allowing = await startNode(['nulls', '--port', '0', '--no-repl', '--token', TOKEN, '--allow-origin', 'null'])
    const refusing = await startNode(['strict', '--port', '0', '--no-repl', '--token', TOKEN])
    try {
      const refused = new TestClient(refusing.url, {headers: {...bearer(TOKEN), origin: 'null'}})
      await expect(refused.open()).rejects.toThrow(/403/)
      const allowed = await new TestClient(allowing.url, {headers: {...bearer(TOKEN), origin: 'null'}}).open()
      await allowed.close()
      await refused.close()
    } finally {
      await Promise.all([stop(allowing), stop(refusing)])
    }
  })
})

describe('--no-auth', () => {
  it('serves every route and the upgrade without a token, and warns on stderr', async () => {
    const node = await startNode(['open', '--port', '0', '--no-repl', '--no-auth'])
    try {
      expect((await call(node.port, 'GET', '/stats')).status).toBe(200)
      const client = new TestClient(node.url)
      await client.open()
      await client.close()
      expect(node.stderr()).toMatch(/warning: --no-auth/)
    } finally {
      await stop(node)
    }
  })

  it('still refuses a foreign Origin', async () => {
    const node = await startNode(['open', '--port', '0', '--no-repl', '--no-auth'])
    try {
      const client = new TestClient(node.url, {headers: {origin: 'http://evil.test'}})
      await expect(client.open()).rejects.toThrow(/403/)
      await client.close()
    } finally {
      await stop(node)
    }
  })
})

describe('--token-file', () => {
  it('gives a node and its clients the token without putting it in the process list', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'peerlink-token-'))
    const file = path.join(dir, 'token')
    const secret = 'kept-out-of-ps-1234'
    writeFileSync(file, `${secret}\n`, {mode: 0o600})
    const node = await startNode(['filed', '--port', '0', '--no-repl', '--token-file', file])
    try {
      // what `ps` shows: the command line of the node
      const cmdline = readFileSync(`/proc/${node.proc.pid}/cmdline`, 'utf8')
      expect(cmdline).toContain('--token-file')
      expect(cmdline).not.toContain(secret)
      expect((await call(node.port, 'GET', '/stats', {headers: bearer(secret)})).status).toBe(200)
      const echo = await runCli(['echo', node.url, 'hi', '--token-file', file])
      expect(echo.stderr).toBe('')
      expect(echo.stdout).toBe('hi\n')
      const send = await runCli(['send', node.url, 'hi', '--token-file', file, '--retries', '0'])
      expect(send.code).toBe(0)
      const without = await runCli(['echo', node.url, 'hi'])
      expect(without.stderr).toMatch(/401/)
    } finally {
      await stop(node)
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('refuses a missing file, or --token with it, in one line, exit 2; warns about a file others can read', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'peerlink-token-'))
    try {
      const missing = await runCli(['echo', 'http://127.0.0.1:1', 'hi', '--token-file', path.join(dir, 'nope')])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toMatch(/^error: --token-file: cannot read .*nope: ENOENT\n$/)
      const both = await runCli(['start', 'x', '--port', '0', '--no-repl', '--token', 't', '--token-file', path.join(dir, 'nope')])
      expect(both.code).toBe(2)
      expect(both.stderr.trim().split('\n')).toHaveLength(1)
      expect(both.stderr).toMatch(/--token/)
      const open = path.join(dir, 'open')
      writeFileSync(open, 'tok\n', {mode: 0o644})
      const warned = await runCli(['echo', 'http://127.0.0.1:1', 'hi', '--token-file', open])
      expect(warned.stderr).toMatch(/^warning: other users can read the token file .*open \(mode 644\): chmod 600 /m)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('the shared token file', () => {
  it('lets two nodes started at the same instant with no --token link up; the file is 0600', async () => {
    const env = cliEnv()
    const [portA, portB] = [await freePort(), await freePort()]
    const common = ['--no-repl', '--grace', '0', '--json']
    const [a, b] = await Promise.all([
      startNode(['A', '--port', String(portA), '--peer', `ws://127.0.0.1:${portB}/ws`, ...common], env),
      startNode(['B', '--port', String(portB), '--peer', `ws://127.0.0.1:${portA}/ws`, ...common], env),
    ])
    try {
      await a.waitForOutput(/"event":"peer_connected"/)
      await b.waitForOutput(/"event":"peer_connected"/)
      const file = path.join(env.XDG_CONFIG_HOME as string, 'peerlink', 'token')
      const token = readFileSync(file, 'utf8').trim()
      expect(token).toMatch(/^[0-9a-f]{64}$/)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      // and a client command of the same user, with no flags, is let in by the same file
      const echo = await runCli(['echo', a.url, 'hi'], {env})
      expect(echo.stderr).toBe('')
      expect(echo.code).toBe(0)
      expect(events(a.stdout()).some((e) => e.event === 'peer_connected')).toBe(true)
    } finally {
      await Promise.all([stop(a), stop(b)])
    }
  })

  it('tells a node dialing with the wrong token why its link fails (401)', async () => {
    const env = cliEnv()
    const server = await startNode(['S', '--port', '0', '--no-repl', '--token', 'right'], env)
    const dialer = await startNode(['D', '--port', '0', '--no-repl', '--grace', '0', '--token', 'wrong', '--peer', server.url], env)
    try {
      await dialer.waitForOutput(/"event":"peer_disconnected".*401/)
    } finally {
      await Promise.all([stop(server), stop(dialer)])
    }
  })
})

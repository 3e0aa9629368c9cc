import {readFileSync, rmSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net, {type AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {WebSocketServer, type WebSocket} from 'ws'
import {cliEnv, runCli, spawnCli, startNode, trackProcesses} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'
import {makeCert, type TestCert} from '../helpers/tls.js'
import {TestClient} from '../helpers/ws.js'

/**
 * The client commands against servers and peers that do not behave (issue
 * 13): what they print, how they read URLs, and what their errors say. The
 * node's side of the same issue is in bad-input.test.ts.
 */

const TOKEN = 'client-hardening-token'
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})

/** Anything a terminal could act on (see src/protocol/terminal-text.ts). */
const TERMINAL_UNSAFE = /[\p{Cc}\p{Bidi_Control}\p{Zl}\p{Zp}\p{Cs}]/u

/** A bare WebSocket server on port 0 that lets a test play a (hostile) node. */
async function fakeNode(onConnection: (ws: WebSocket, req: http.IncomingMessage) => void): Promise<{port: number; close: () => Promise<void>}> {
  const server = http.createServer((_req, res) => res.writeHead(404).end())
  const wss = new WebSocketServer({server})
  wss.on('connection', onConnection)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const servers: Array<{close: () => Promise<void>}> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '')
}

describe('text from the network in client output', () => {
  const track = trackProcesses()

  it('connect shows a hostile node\'s name, messages, errors and close reason escaped', async () => {
    let sawOk: () => void = () => {}
    const acked = new Promise<void>((resolve) => (sawOk = resolve))
    const server = await fakeNode((ws) => {
      ws.on('message', (data) => {
        const frame = data.toString()
        if (frame.startsWith('hello ')) {
          ws.send(`welcome ${JSON.stringify({id: '6f1c1b8e-2a7b-4c1e-9c53-0f6a3f1d2e4b', name: 'node\u001b[2J\n12:00:00 forged'})}`)
          ws.send('message evil\u001b]52;c;cm0gLXJmIH4=\u0007\n12:00:00 forged\u009b31m\u202e')
          ws.send('error you\u001b[31m\nare red')
        } else if (frame.startsWith('ok evil')) {
          sawOk()
        }
      })
    })
    servers.push(server)
    const client = track(spawnCli(['connect', `ws://127.0.0.1:${server.port}/ws`, '--name', 'c'], env()))
    await acked
    await client.waitForOutput(/are red/)
    const out = client.stdout()
    const err = client.stderr()
    for (const line of [...lines(out), ...lines(err)]) expect(line, JSON.stringify(line)).not.toMatch(TERMINAL_UNSAFE)
    expect(out).toContain('node\\x1b[2J\\n12:00:00 forged: evil\\x1b]52;c;cm0gLXJmIH4=\\x07\\n12:00:00 forged\\x9b31m\\u202e')
    expect(err).toContain('you\\x1b[31m\\nare red')
    client.proc.stdin.end()
    await client.exited
  })

  it('clients and time show registered names and a client\'s answer escaped; --json keeps them exact', async () => {
    const node = track(await startNode(['reg', '--port', '0', '--no-repl'], env()))
    const name = 'reg\u001b[2J\nforged\u202e'
    const registered = await call(node.port, 'POST', '/client', {headers: {...bearer(TOKEN), 'content-type': 'application/json'}, body: JSON.stringify({ip: '127.0.0.9', port: 1, name})})
    expect(registered.status).toBeLessThan(300)
    const table = await runCli(['clients', node.url], {env: env()})
    expect(table.code).toBe(0)
    for (const line of lines(table.stdout)) expect(line, JSON.stringify(line)).not.toMatch(TERMINAL_UNSAFE)
    expect(table.stdout).toContain('reg\\x1b[2J\\nforged\\u202e')
    const asJson = await runCli(['clients', node.url, '--json'], {env: env()})
    expect(asJson.stdout).not.toMatch(/[\u0080-\u009f\u202e]/)
    expect(Object.values(JSON.parse(asJson.stdout) as Record<string, {name: string}>).map((e) => e.name)).toContain(name)

    // a live client whose clock answer is hostile
    const liar = await new TestClient(node.url, {headers: bearer(TOKEN)}).open()
    liar.ws.on('message', (data) => {
      const m = /^cmd (\d+) system-time$/.exec(data.toString())
      if (m) liar.send(`res ${m[1]} ${JSON.stringify({ts: '2026\u001b[2J\n\u009b'})}`)
    })
    liar.send('hello {"name":"liar"}')
    const welcome = JSON.parse((await liar.waitFor((f) => f.startsWith('welcome '))).slice(8)) as {id: string}
    const time = await runCli(['time', node.url, welcome.id], {env: env()})
    expect(time.stderr).toBe('')
    expect(time.stdout).toBe('2026\\x1b[2J\\n\\x9b\n')
    await liar.close()
  })
})

describe('one URL rule for every client command', () => {
  const track = trackProcesses()
  /** no token anywhere but where the test puts it */
  const bare = () => cliEnv()

  it('takes ?token= from the URL in every command, HTTP ones included', async () => {
    const node = track(await startNode(['urls', '--port', '0', '--no-repl', '--token', TOKEN], bare()))
    const url = `${node.url}?token=${TOKEN}`
    const echo = await runCli(['echo', url, 'hi'], {env: bare()})
    expect(echo.stderr).toBe('')
    expect(echo.stdout).toBe('hi\n')
    const send = await runCli(['send', url, 'hello', '--retries', '0'], {env: bare()})
    expect(send.stderr).toBe('')
    expect(send.code).toBe(0)
    const clients = await runCli(['clients', url, '--json'], {env: bare()})
    expect(clients.stderr).toBe('')
    expect(clients.code).toBe(0)
    const load = await runCli(['load', url, '--clients', '3', '--ramp', '0', '--json'], {env: bare()})
    expect(load.stderr).toBe('')
    expect(JSON.parse(load.stdout)).toMatchObject({acked: 3, ok: true})
  })

  it('takes http(s):// for the WebSocket commands and ws(s):// for the HTTP ones', async () => {
    const node = track(await startNode(['schemes', '--port', '0', '--no-repl'], env()))
    const send = await runCli(['send', `http://127.0.0.1:${node.port}`, 'over http', '--retries', '0'], {env: env()})
    expect(send.stderr).toBe('')
    expect(send.stdout).toMatch(/^acknowledged: over http/)
    const client = track(spawnCli(['connect', `http://127.0.0.1:${node.port}`, '--name', 'schemer'], env()))
    await client.waitForOutput(/linked to peer schemes/)
    client.proc.stdin.end()
    expect(await client.exited).toBe(0)
    const clients = await runCli(['clients', node.url], {env: env()})
    expect(clients.code).toBe(0)
  })

  it('dials /ws only when the URL has no path: an explicit /, /ws/ or other path is kept', async () => {
    const paths: string[] = []
    const server = await fakeNode((ws, req) => {
      paths.push(req.url ?? '')
      ws.on('message', (data) => {
        const frame = data.toString()
        if (frame.startsWith('message ')) ws.send(`ok ${frame.slice(8)}`)
      })
    })
    servers.push(server)
    for (const url of [`ws://127.0.0.1:${server.port}`, `ws://127.0.0.1:${server.port}/`, `ws://127.0.0.1:${server.port}/ws/`, `http://127.0.0.1:${server.port}/chat?room=1`]) {
      const res = await runCli(['send', url, 'hi', '--retries', '0'], {env: env()})
      expect(res.stderr, url).toBe('')
      expect(res.code, url).toBe(0)
    }
    expect(paths).toEqual(['/ws', '/', '/ws/', '/chat?room=1'])
  })

  it('a node serves /ws/ as /ws', async () => {
    const node = track(await startNode(['slash', '--port', '0', '--no-repl'], env()))
    const res = await runCli(['send', `${node.url}/`, 'trailing slash', '--retries', '0'], {env: env()})
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
  })
})

/** A server on port 0 that counts TCP connections: TLS (serving WebSockets) with `cert`, or one that accepts and never answers. */
async function countingServer(kind: {tls: TestCert} | 'silent'): Promise<{port: number; connections: () => number; close: () => Promise<void>}> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server =
    kind === 'silent'
      ? net.createServer()
      : https.createServer({cert: readFileSync(kind.tls.cert), key: readFileSync(kind.tls.key)}, (_req, res) => res.writeHead(404).end())
  server.on('connection', (socket: net.Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('tlsClientError', () => {})
  if (kind !== 'silent') new WebSocketServer({server: server as https.Server}).on('connection', (ws) => ws.on('message', (d) => ws.send(`ok ${d.toString().slice(8)}`)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('errors that say what happened on the wire', () => {
  const certs: TestCert[] = []
  afterEach(() => {
    for (const c of certs.splice(0)) rmSync(c.dir, {recursive: true, force: true})
  })
  const cert = (opts?: {cn?: string; altNames?: string}) => {
    const c = makeCert(opts)
    certs.push(c)
    return c
  }

  it('a certificate for another host, with --ca: says the names do not match, at once, without retrying', async () => {
    const other = cert({cn: 'other.test', altNames: 'DNS:other.test'})
    const server = await countingServer({tls: other})
    servers.push(server)
    for (const args of [
      ['send', `wss://127.0.0.1:${server.port}/ws`, 'hi', '--retries', '5'],
      ['echo', `https://127.0.0.1:${server.port}`, 'hi'],
    ]) {
      const before = server.connections()
      const res = await runCli([...args, '--ca', other.cert], {env: env()})
      expect(res.code, args[0]).toBe(1)
      expect(res.stderr, args[0]).toMatch(/^error: .*certificate is for other\.test, not 127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID\)[^\n]*\n$/)
      expect(res.stderr, args[0]).not.toMatch(/--insecure|untrusted/)
      expect(server.connections() - before, args[0]).toBe(1)
    }
  })

  // send's lines may end with where its outbox keeps the message (docs: what survives what)
  it('an untrusted certificate fails at once: without --ca it says pass --ca, with another CA it says so', async () => {
    const served = cert()
    const server = await countingServer({tls: served})
    servers.push(server)
    const url = `wss://127.0.0.1:${server.port}/ws`
    const none = await runCli(['send', url, 'hi', '--retries', '5'], {env: env()})
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/^error: .*untrusted certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\): pass --ca FILE or --insecure(; the message stays in [^\n]*: the next send to [^\n]* sends it again)?\n$/)
    expect(server.connections()).toBe(1)
    const wrongCa = cert()
    const other = await runCli(['send', url, 'hi', '--retries', '5', '--ca', wrongCa.cert], {env: env()})
    expect(other.code).toBe(1)
    expect(other.stderr).toMatch(/^error: .*untrusted certificate \(\w+\): not signed by the CA in --ca(; the message stays in [^\n]*: the next send to [^\n]* sends it again)?\n$/)
    expect(server.connections()).toBe(2)
  })

  it('a server that accepts TCP and never answers: one line about the handshake timeout, no retries', async () => {
    const [forSend, forEcho] = await Promise.all([countingServer('silent'), countingServer('silent')])
    servers.push(forSend, forEcho)
    // both wait out the same 10 s timeout: side by side, not one after the other
    const [send, echo] = await Promise.all([
      runCli(['send', `ws://127.0.0.1:${forSend.port}/ws`, 'hi', '--retries', '5'], {env: env()}),
      runCli(['echo', `http://127.0.0.1:${forEcho.port}`, 'hi'], {env: env()}),
    ])
    expect(send.code).toBe(1)
    expect(send.stderr).toMatch(/^error: .*no answer to the WebSocket handshake within 10s \(is something other than a WebSocket server listening there, or is it overloaded\?\)(; the message stays in [^\n]*: the next send to [^\n]* sends it again)?\n$/)
    expect(send.stderr).not.toMatch(/Opening handshake has timed out/)
    expect(forSend.connections()).toBe(1)
    expect(echo.code).toBe(1)
    expect(echo.stderr).toMatch(/^error: .*no answer within 10s: the server accepted the connection but said nothing[^\n]*\n$/)
  })

  it('plain ws:// or http:// to a TLS port hints at wss:// or https://', async () => {
    const server = await countingServer({tls: cert()})
    servers.push(server)
    const send = await runCli(['send', `ws://127.0.0.1:${server.port}/ws`, 'hi', '--retries', '0'], {env: env()})
    expect(send.code).toBe(1)
    expect(send.stderr).toMatch(/^error: .*connection reset before any answer: if 127\.0\.0\.1:\d+ serves TLS, use wss:\/\/(; the message stays in [^\n]*: the next send to [^\n]* sends it again)?\n$/)
    const echo = await runCli(['echo', `http://127.0.0.1:${server.port}`, 'hi'], {env: env()})
    expect(echo.code).toBe(1)
    expect(echo.stderr).toMatch(/^error: .*connection reset before any answer: if 127\.0\.0\.1:\d+ serves TLS, use https:\/\/\n$/)
  })
})

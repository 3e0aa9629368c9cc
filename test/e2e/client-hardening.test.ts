import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {WebSocketServer, type WebSocket} from 'ws'
import {cliEnv, runCli, spawnCli, startNode, trackProcesses} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'
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

import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {describe, expect, it} from 'vitest'
import {cliEnv, events, freePort, runCli, startNode, trackProcesses} from '../helpers/cli.js'

const TOKEN = 't0k'
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})

describe('peerlink send', () => {
  const track = trackProcesses()

  it('sends the words as one message and exits 0 once it is acknowledged', async () => {
    const n = await startNode(['relay', '--port', '0', '--no-repl'], env())
    track(n)
    const r = await runCli(['send', n.url, 'hello', 'big', 'world'], {env: env()})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^acknowledged: hello big world \(\d+ ms\)\n$/)
    // the node relayed exactly that message
    await n.waitForOutput(/"event":"message_relayed"[^\n]*"text":"hello big world"/)
  })

  it('prints one JSON event with --json', async () => {
    const n = await startNode(['relay', '--port', '0', '--no-repl'], env())
    track(n)
    const r = await runCli(['send', n.url, '--json', 'hi'], {env: env()})
    expect(r.code).toBe(0)
    const evs = events(r.stdout)
    expect(evs).toHaveLength(1)
    expect(evs[0]).toMatchObject({event: 'message_acked', text: 'hi', attempts: 1})
  })

  it('gives up on a closed port within its retries, with one line saying why', async () => {
    const port = await freePort()
    const r = await runCli(['send', `ws://127.0.0.1:${port}/ws`, '--retries', '2', 'hello'], {env: env()})
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^error: not acknowledged after 3 attempts: connection refused[^\n]*\n$/)
  })

  it('says 401 when the node refuses the upgrade, without burning its retries', async () => {
    const server = http.createServer()
    server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const r = await runCli(['send', `ws://127.0.0.1:${port}/ws`, '--retries', '50', 'hello'], {env: env()})
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/^error: .*HTTP 401 unauthorized/)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('rejects a URL that is not ws:// with exit 2', async () => {
    const r = await runCli(['send', 'http//nope', 'hi'], {env: env()})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: .*invalid URL/)
  })
})

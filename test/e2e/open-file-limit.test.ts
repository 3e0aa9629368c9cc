import {describe, expect, it} from 'vitest'
import {cliEnv, spawnCli} from '../helpers/cli.js'
import {call} from '../helpers/http.js'
import {RawSocket} from '../helpers/raw.js'
import {TestClient} from '../helpers/ws.js'

const TOKEN = 't0k'
const LIMIT = 150

describe('a node at its open-file limit', () => {
  it('keeps serving its connections, refuses new ones with 503 and a clear line, answers /healthz and /stats, and does not crash', async () => {
    // ulimit in a shell rather than prlimit: POSIX sh has it everywhere
    const node = spawnCli(['start', 'relay', '--port', '0', '--no-repl', '--json'], cliEnv({PEERLINK_TOKEN: TOKEN}), ['/bin/sh', '-c', `ulimit -n ${LIMIT} && exec "$0" "$@"`])
    const clients: TestClient[] = []
    try {
      const [, url] = await node.waitForOutput(/"event":"listening","url":"([^"]+)"/)
      const opts = {headers: {authorization: `Bearer ${TOKEN}`}}
      const attempts = await Promise.all(
        Array.from({length: LIMIT + 50}, async () => {
          const c = new TestClient(url, opts)
          clients.push(c)
          try {
            await c.open()
            return c
          } catch {
            return undefined
          }
        }),
      )
      const open = attempts.filter((c): c is TestClient => c !== undefined)
      expect(open.length).toBeGreaterThan(0)
      expect(open.length).toBeLessThan(LIMIT + 50)
      await node.waitForOutput(/"event":"error","msg":"[^"]*limit reached[^"]*the open ones are still served/)

      // Full of WebSockets, the node still has descriptors in reserve: a new
      // upgrade gets 503 with Retry-After (not a reset), and the HTTP routes answer.
      const port = Number(new URL(url).port)
      const refused = await RawSocket.upgrade(port, `/ws?token=${TOKEN}`)
      expect(refused.status).toBe(503)
      expect(refused.response).toMatch(/^retry-after: \d+$/im)
      refused.destroy()
      // the line is written before the 503 is sent, but through a pipe: it may arrive after the answer
      await node.waitForOutput(/"event":"error","msg":"WebSocket connection limit reached[^"]*new upgrades get 503/)
      expect((await call(port, 'GET', '/healthz')).status).toBe(200)
      const stats = await call(port, 'GET', '/stats', opts)
      expect(stats.status).toBe(200)
      expect(stats.json).toMatchObject({connections: open.length})

      // the open connections still relay: everyone answers, one sender gets its ok
      for (const c of open) c.ws.on('message', (d) => d.toString().startsWith('message ') && c.send(`ok ${d.toString().slice(8)}`))
      open[0].send('message still here')
      expect(await open[0].waitFor((f) => f === 'ok still here')).toBe('ok still here')

      // once connections close, new ones are accepted again
      await Promise.all(open.map((c) => c.close()))
      const again = new TestClient(url, opts)
      clients.push(again)
      await again.open()
      expect(node.proc.exitCode).toBeNull()
    } finally {
      await Promise.all(clients.map((c) => c.close()))
      node.kill()
      await node.exited
    }
  })
})

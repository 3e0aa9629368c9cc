import {createHash} from 'node:crypto'
import net from 'node:net'
import {describe, expect, it} from 'vitest'
import {startNode} from '../helpers/cli.js'

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
// ping every 15 s, gone after 30 s: a silent peer is dropped within 45 s
const DETECTION_CEILING_MS = 60_000

describe.concurrent('dead connections are found by ping/pong (real time, ~45 s)', () => {
  it('the node drops an inbound connection that upgraded and then went silent', async () => {
    const node = await startNode(['watcher', '--port', '0', '--no-repl', '--no-auth'])
    try {
      const socket = net.connect(node.port, '127.0.0.1')
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
      socket.on('error', () => {})
      socket.resume() // read (and drop) the 101 and the pings, so the server's close is seen
      // a WebSocket client that completes the handshake, then never answers a ping
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${Buffer.from('sixteen-byte-key').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
      await node.waitForOutput(/"event":"client_connected"/)
      await node.waitForOutput(/"event":"client_disconnected"[^\n]*"code":1006/, DETECTION_CEILING_MS)
      await closed
      expect(await (await fetch(`http://127.0.0.1:${node.port}/stats`)).json()).toMatchObject({connections: 0, pending: 0})
    } finally {
      node.kill()
    }
  }, 90_000)

  it("a node's link notices a peer that went silent and dials again", async () => {
    let upgrades = 0
    // a "peer" that accepts the upgrade and then answers nothing, not even pongs
    const silent = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.once('data', (req) => {
        const key = /Sec-WebSocket-Key: (\S+)/i.exec(req.toString())?.[1] ?? ''
        const accept = createHash('sha1').update(key + WS_GUID).digest('base64')
        upgrades++
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
      })
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as net.AddressInfo).port
    const node = await startNode(['dialer', '--port', '0', '--no-repl', '--no-auth', '--grace', '0', '--peer', `ws://127.0.0.1:${port}/ws`])
    try {
      await node.waitForOutput(/"event":"peer_connected"/)
      await node.waitForOutput(/"event":"peer_disconnected"[^\n]*"reason":"closed 1006/, DETECTION_CEILING_MS)
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error('no second dial')), 10_000)
        const check = setInterval(() => {
          if (upgrades >= 2) {
            clearInterval(check)
            clearTimeout(deadline)
            resolve()
          }
        }, 50)
      })
      expect(upgrades).toBeGreaterThanOrEqual(2)
    } finally {
      node.kill()
      silent.close()
    }
  }, 90_000)
})

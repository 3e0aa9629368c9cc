import {createHash} from 'node:crypto'
import net from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {OutboundLink} from '../../src/client/outbound-link.js'
import {ConsoleEvents, EVENTS_PATH, type ConsoleSource} from '../../src/http/console.js'
import {NodeServer, type Conn, type ServerHandlers} from '../../src/node/server.js'
import {closePayload, OP, RawSocket, rawFrame} from '../helpers/raw.js'

/**
 * Dead connections are found by ping/pong. In production the intervals are
 * 15 s / 30 s; these tests run the real server and link in-process on port 0
 * with intervals of a few hundred milliseconds, against real sockets that
 * complete the WebSocket handshake and then go silent.
 */

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const PING_MS = 100
const DEAD_MS = 300

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** A NodeServer whose handlers only record opens and closes. */
async function recordingServer(intervals = {pingIntervalMs: PING_MS, deadAfterMs: DEAD_MS}): Promise<{server: NodeServer; port: number; closed: Promise<{conn: Conn; code: number}>}> {
  let onClosed: (v: {conn: Conn; code: number}) => void = () => {}
  const closed = new Promise<{conn: Conn; code: number}>((resolve) => (onClosed = resolve))
  const handlers: ServerHandlers = {
    request: (_req, res) => res.end(),
    open: () => {},
    hello: () => {},
    relay: () => {},
    frame: () => {},
    invalid: () => {},
    close: (conn, code) => onClosed({conn, code}),
  }
  const server = new NodeServer({name: 'watcher', host: '127.0.0.1', port: 0, maxPayloadBytes: 1 << 20, ...intervals}, handlers)
  const port = await server.listen()
  cleanup.push(() => server.close())
  return {server, port, closed}
}

describe('dead connections are found by ping/pong', () => {
  it('the server drops an inbound connection that upgraded and then went silent', async () => {
    const {server, port, closed} = await recordingServer()
    const socket = net.connect(port, '127.0.0.1')
    cleanup.push(() => socket.destroy())
    const socketClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.on('error', () => {})
    let received = ''
    // read (and keep) the 101 and the pings, so the server's close is seen; answer nothing
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')))
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from('sixteen-byte-key').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    const {code} = await closed
    await socketClosed
    expect(received).toMatch(/^HTTP\/1\.1 101/)
    // a ping frame (opcode 0x9, FIN set) reached the silent client before it was dropped
    expect(received).toContain('\x89')
    expect(code).toBe(1006)
    expect(server.connectionCount).toBe(0)
  })

  it('the server keeps a connection that answers pings, however long it says nothing', async () => {
    // a dead-after far beyond any pause of a loaded machine: only a missing pong may drop it
    const deadAfterMs = 2500
    const {server, port} = await recordingServer({pingIntervalMs: PING_MS, deadAfterMs})
    const {default: WebSocket} = await import('ws')
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
    cleanup.push(() => ws.terminate())
    let pings = 0
    ws.on('ping', () => pings++)
    await new Promise((resolve) => ws.once('open', resolve))
    // wait for more pings than fit in one dead-after period (ws answers each with a pong)
    await new Promise<void>((resolve) => ws.on('ping', () => pings >= (2 * deadAfterMs) / PING_MS && resolve()))
    expect(ws.readyState).toBe(WebSocket.OPEN)
    expect(server.connectionCount).toBe(1)
  })

  it("a link notices a peer that went silent and dials again", async () => {
    let upgrades = 0
    let secondUpgrade: () => void = () => {}
    const dialedTwice = new Promise<void>((resolve) => (secondUpgrade = resolve))
    // a "peer" that accepts the upgrade and then answers nothing, not even pongs
    const silent = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.once('data', (req) => {
        const key = /Sec-WebSocket-Key: (\S+)/i.exec(req.toString())?.[1] ?? ''
        const accept = createHash('sha1').update(key + WS_GUID).digest('base64')
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
        if (++upgrades === 2) secondUpgrade()
      })
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => silent.close(resolve)))
    cleanup.push(() => {
      for (const s of sockets) s.destroy()
    })
    const sockets: net.Socket[] = []
    silent.on('connection', (s) => sockets.push(s))
    const port = (silent.address() as net.AddressInfo).port
    const link = new OutboundLink({url: `ws://127.0.0.1:${port}/ws`, hello: {name: 'dialer', role: 'node'}, pingIntervalMs: PING_MS, deadAfterMs: DEAD_MS})
    cleanup.push(() => link.close())
    const downs: Array<{code: number}> = []
    link.on('down', (d) => downs.push(d))
    const up = new Promise((resolve) => link.once('up', resolve))
    link.start()
    await up
    await dialedTwice
    expect(downs[0]?.code).toBe(1006)
    expect(upgrades).toBe(2)
  })
})

describe('closing', () => {
  /** well under ws's close timer (30 s), which would otherwise end the wait for the client's FIN */
  const AT_ONCE_MS = 15_000

  it('the server lets a connection go once the close handshake is done, though the client keeps its TCP side open', async () => {
    const {server, port, closed} = await recordingServer({pingIntervalMs: 60_000, deadAfterMs: 120_000})
    const raw = await RawSocket.upgrade(port, '/ws', {}, {allowHalfOpen: true})
    cleanup.push(() => raw.destroy())
    expect(raw.status).toBe(101)
    const serverFin = new Promise<void>((resolve) => raw.socket.once('end', resolve))
    raw.write(rawFrame(OP.close, closePayload(1000, 'bye')))
    await raw.until(() => raw.closeCode() !== undefined)
    expect(raw.closeCode()).toBe(1000)
    await serverFin
    const gone = await Promise.race([closed.then(({code}) => code), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), AT_ONCE_MS).unref())])
    expect(gone).toBe(1000)
    expect(server.connectionCount).toBe(0)
    // the client never sent its FIN: the node closed its socket without waiting for one
    expect(raw.socket.writableEnded).toBe(false)
  })

  it("the console's event stream lets a viewer go the same way", async () => {
    const {server, port} = await recordingServer({pingIntervalMs: 60_000, deadAfterMs: 120_000})
    const source: ConsoleSource = {name: 'watcher', url: '', stats: () => ({connections: 0}), peerInfo: () => [], send: () => [], subscribe: () => () => {}, relayedTotal: () => 0}
    // closed with the server (NodeServer.close closes its endpoints)
    server.addEndpoint(EVENTS_PATH, new ConsoleEvents(source))
    const raw = await RawSocket.upgrade(port, EVENTS_PATH, {}, {allowHalfOpen: true})
    cleanup.push(() => raw.destroy())
    expect(raw.status).toBe(101)
    const serverFin = new Promise<void>((resolve) => raw.socket.once('end', resolve))
    raw.write(rawFrame(OP.close, closePayload(1000, 'bye')))
    await raw.until(() => raw.closeCode() !== undefined)
    await serverFin
    // The node's socket is gone, so what the client sends now is reset (the write after the reset fails and
    // closes the client's socket); ws alone would read and drop it until its close timer.
    const poke = setInterval(() => raw.write(rawFrame(OP.ping, '')), 100)
    try {
      const outcome = await Promise.race([raw.closed.then(() => 'reset'), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), AT_ONCE_MS).unref())])
      expect(outcome).toBe('reset')
    } finally {
      clearInterval(poke)
    }
  })

  it('after a protocol error the server still waits for the client, which reads why it was closed', async () => {
    const {port, closed} = await recordingServer({pingIntervalMs: 60_000, deadAfterMs: 120_000})
    const raw = await RawSocket.upgrade(port, '/ws')
    cleanup.push(() => raw.destroy())
    // a text frame that is not UTF-8
    raw.write(rawFrame(OP.text, Buffer.from([0x6d, 0xff, 0xfe])))
    await raw.until(() => raw.closeCode() !== undefined)
    expect(raw.closeCode()).toBe(1007)
    await raw.closed
    // on the node's side no close frame came: ws reports 1006
    expect((await closed).code).toBe(1006)
  })
})

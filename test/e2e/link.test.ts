import {afterEach, describe, expect, it} from 'vitest'
import {WebSocketServer, type WebSocket} from 'ws'
import {OutboundLink} from '../../src/client/outbound-link.js'
import {PeerNode} from '../../src/node/node.js'

/**
 * The outbound link against servers that are and are not peerlink nodes,
 * in-process on port 0. The welcome wait is set far beyond the test's own
 * timeout, so a link that waited for a welcome that never comes would fail.
 */

const NEVER_MS = 120_000

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** A third-party relay-ish server: acknowledges every message, never says welcome. */
async function thirdPartyServer(): Promise<{url: string; frames: string[]}> {
  const frames: string[] = []
  const wss = new WebSocketServer({host: '127.0.0.1', port: 0})
  await new Promise((resolve) => wss.once('listening', resolve))
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data) => {
      const text = data.toString()
      frames.push(text)
      if (text.startsWith('message ')) ws.send(`ok ${text.slice(8)}`)
    })
  })
  cleanup.push(() => new Promise((resolve) => wss.close(resolve)))
  const {port} = wss.address() as {port: number}
  return {url: `ws://127.0.0.1:${port}/`, frames}
}

function acked(link: OutboundLink, text: string): Promise<number> {
  return new Promise((resolve) => link.on('acked', (a) => a.text === text && resolve(a.rttMs)))
}

describe('the outbound link', () => {
  it('uses a server that is not peerlink at once, without waiting for a welcome', async () => {
    const server = await thirdPartyServer()
    const link = new OutboundLink({url: server.url, hello: {name: 'me', role: 'client'}, welcomeWaitMs: NEVER_MS})
    cleanup.push(() => link.close())
    const ok = acked(link, 'hi there')
    link.send('hi there')
    link.start()
    await ok
    expect(server.frames[0]).toMatch(/^hello /)
    expect(server.frames[1]).toBe('message hi there')
    expect(link.remoteName).toBeUndefined()
  })

  it('waits for the welcome of a peerlink node, so it knows the node by name', async () => {
    const node = new PeerNode({name: 'welcomer', host: '127.0.0.1', port: 0, peers: [], graceMs: 0, ackTimeoutMs: 5000, ackDelayMs: 0, maxPayloadBytes: 1 << 20})
    await node.start()
    cleanup.push(() => node.stop(0))
    const link = new OutboundLink({url: node.url, hello: {name: 'me', role: 'client'}, welcomeWaitMs: NEVER_MS})
    cleanup.push(() => link.close())
    const up = new Promise<{name: string | undefined}>((resolve) => link.once('up', resolve))
    const ok = acked(link, 'hello node')
    link.send('hello node')
    link.start()
    expect((await up).name).toBe('welcomer')
    // alone on the node, the link is the relay's only receiver: it gets its own message and acknowledges it
    await ok
    expect(link.pendingCount).toBe(0)
  })
})

import fc from 'fast-check'
import net from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startNode} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'
import {closePayload, OP, RawSocket, rawFrame} from '../helpers/raw.js'
import {AckingClient} from '../helpers/relay.js'
import {TestClient} from '../helpers/ws.js'

/**
 * Throws bad input at a real node on purpose. For each kind: the expected
 * clear error, the node keeps serving (/healthz), and two well-behaved relay
 * clients exchanging `message X`/`ok X` while the abuse happens get every one
 * of their messages acknowledged.
 */

const TOKEN = 'bad-input-token'
const MAX_PAYLOAD = 64 * 1024
/** Bystanders acknowledge after this delay, so their messages are in flight during the abuse. */
const BYSTANDER_ACK_DELAY_MS = 20
const BYSTANDER_MESSAGES = 25

let node: Awaited<ReturnType<typeof startNode>>
const auth = {headers: bearer(TOKEN)}

beforeAll(async () => {
  node = await startNode(['target', '--port', '0', '--no-repl', '--token', TOKEN, '--max-payload', '64KiB'])
})

afterAll(async () => {
  node.kill('SIGTERM')
  await node.exited
})

async function expectServing(): Promise<void> {
  const res = await call(node.port, 'GET', '/healthz')
  expect(res.status).toBe(200)
  expect(res.json).toEqual({ok: true})
}

/**
 * Runs `abuse` while two bystanders exchange messages through the relay,
 * then checks that every bystander message was acknowledged and the node
 * still serves. `abuse` must close what it opened: a connection the relay
 * chose as a receiver hands its messages on when it closes.
 */
async function duringTraffic(label: string, abuse: () => Promise<void>): Promise<void> {
  const a = await new AckingClient(node.url, auth, BYSTANDER_ACK_DELAY_MS).open()
  const b = await new AckingClient(node.url, auth, BYSTANDER_ACK_DELAY_MS).open()
  try {
    const before = [a.sendMany(`${label}-a-before`, BYSTANDER_MESSAGES), b.sendMany(`${label}-b-before`, BYSTANDER_MESSAGES)]
    await abuse()
    const after = [a.sendMany(`${label}-a-after`, BYSTANDER_MESSAGES), b.sendMany(`${label}-b-after`, BYSTANDER_MESSAGES)]
    await Promise.all([...before, ...after])
    await expectServing()
  } finally {
    await Promise.all([a.close(), b.close()])
  }
}

function openClient(url = node.url): Promise<TestClient> {
  return new TestClient(url, auth).open()
}

describe('bad WebSocket frames', () => {
  it('closes a connection that sends a frame over --max-payload with 1009', async () => {
    await duringTraffic('oversized', async () => {
      const client = await openClient()
      client.send(`message ${'x'.repeat(MAX_PAYLOAD + 1)}`)
      expect((await client.closed).code).toBe(1009)
    })
  })

  it('answers a binary frame with an error frame and keeps the connection open', async () => {
    await duringTraffic('binary', async () => {
      const client = await openClient()
      client.ws.send(Buffer.from([1, 2, 3]), {binary: true})
      expect(await client.waitFor((f) => f.startsWith('error '))).toMatch(/^error binary frames are not supported/)
      client.send('hello {"name":"still-open"}')
      expect(await client.waitFor((f) => f.startsWith('welcome '))).toMatch(/"id"/)
      await client.close()
    })
  })

  it('closes a connection that sends invalid UTF-8 in a text frame with 1007', async () => {
    await duringTraffic('utf8', async () => {
      const client = await openClient()
      client.ws.send(Buffer.from([0x6d, 0x65, 0x20, 0xff, 0xfe, 0xc3]), {binary: false})
      expect((await client.closed).code).toBe(1007)
    })
  })

  it('answers malformed frames with a clear error frame each, and the connection stays open', async () => {
    await duringTraffic('malformed', async () => {
      const client = await openClient()
      const bad: Array<[string, RegExp]> = [
        ['', /^error empty frame/],
        ['message ', /^error empty message/],
        ['message', /^error empty message/],
        ['ok ', /^error empty ok/],
        ['shout hi', /^error unknown verb "shout"/],
        ['hello {not json', /^error bad json in hello/],
        ['hello [1,2]', /^error bad json in hello/],
        ['hello {"port":"eighty"}', /^error hello.port must be/],
        ['hello {"role":"admin"}', /^error hello.role must be/],
        ['res x {}', /^error res needs a number/],
        ['res 1 nope', /^error bad json in res/],
        ['cmd 1', /^error cmd needs/],
        ['welcome {"id":"x","name":"y"}', /^error welcome is not something a client sends/],
        [`\u0000\u0001 \uFFFF`, /^error unknown verb/],
      ]
      for (const [frame, expected] of bad) {
        // bystanders' messages may be relayed here too: look for the first error after this send
        const errorsBefore = client.frames.filter((f) => f.startsWith('error ')).length
        client.send(frame)
        await client.waitFor(() => client.frames.filter((f) => f.startsWith('error ')).length > errorsBefore)
        const answer = client.frames.filter((f) => f.startsWith('error '))[errorsBefore]
        expect(answer, JSON.stringify(frame)).toMatch(expected)
        expect(answer).not.toMatch(/\n/)
      }
      expect(client.ws.readyState).toBe(client.ws.OPEN)
      await client.close()
    })
  })

  it('closes on broken WebSocket framing (reserved opcode, RSV bits, unmasked, fragmented control) with 1002', async () => {
    await duringTraffic('framing', async () => {
      const broken = [
        rawFrame(0x3, 'reserved opcode'),
        rawFrame(OP.text, 'rsv1 without an extension', {rsv: 4}),
        rawFrame(OP.text, 'unmasked', {mask: false}),
        rawFrame(OP.ping, 'fragmented ping', {fin: false}),
        rawFrame(OP.continuation, 'continuation of nothing'),
        rawFrame(OP.ping, Buffer.alloc(126)),
      ]
      for (const bytes of broken) {
        const raw = await RawSocket.upgrade(node.port, `/ws?token=${TOKEN}`)
        expect(raw.status).toBe(101)
        raw.write(bytes)
        await raw.closed
        expect(raw.closeCode()).toBe(1002)
      }
    })
  })

  it('relays frames sent before any hello, and welcomes a hello that comes late or twice', async () => {
    await duringTraffic('before-hello', async () => {
      const client = await openClient()
      client.send('ok nobody-waits-for-this')
      client.send('hello {"name":"late"}')
      client.send('hello {"name":"later"}')
      await client.waitFor((f) => client.frames.filter((x) => x.startsWith('welcome ')).length === 2 && f.startsWith('welcome '))
      expect(client.frames.filter((f) => f.startsWith('welcome '))).toHaveLength(2)
      expect(client.frames.some((f) => f.startsWith('error '))).toBe(false)
      await client.close()
    })
  })

  it('ignores frames that arrive after a close frame and finishes the close handshake', async () => {
    await duringTraffic('after-close', async () => {
      const raw = await RawSocket.upgrade(node.port, `/ws?token=${TOKEN}`)
      raw.write(Buffer.concat([rawFrame(OP.close, closePayload(1000, 'bye')), rawFrame(OP.text, 'message late-frame'), rawFrame(OP.text, 'junk')]))
      await raw.closed
      expect(raw.closeCode()).toBe(1000)
      // neither relayed back nor answered with an error: the node stopped reading at the close frame
      expect(raw.texts().filter((t) => t.includes('late-frame') || t.includes('junk'))).toEqual([])
    })
  })

  it('keeps up with a flood of 10k frames from one connection, valid and invalid', async () => {
    await duringTraffic('flood', async () => {
      const flooder = await new AckingClient(node.url, auth).open()
      const acked = flooder.sendMany('flood', 5000, 50_000)
      for (let i = 0; i < 5000; i++) flooder.send(`junk-${i}`)
      await acked
      await flooder.waitFor(() => flooder.frames.filter((f) => f.startsWith('error unknown verb')).length === 5000, 50_000)
      await flooder.close()
    })
  })

  it('survives a half-open WebSocket that sent part of a frame and went quiet', async () => {
    await duringTraffic('half-frame', async () => {
      const raw = await RawSocket.upgrade(node.port, `/ws?token=${TOKEN}`)
      expect(raw.status).toBe(101)
      raw.write(rawFrame(OP.text, 'message never-finished').subarray(0, 5))
      await expectServing()
      raw.destroy()
      await raw.closed
    })
  })
})

describe('bad HTTP', () => {
  it('answers wrong methods with 405 JSON and an Allow header', async () => {
    await duringTraffic('methods', async () => {
      const cases: Array<[string, string, string]> = [
        ['DELETE', '/healthz', 'GET'],
        ['POST', '/stats', 'GET'],
        ['GET', '/echo', 'POST'],
        ['PUT', '/echo', 'POST'],
      ]
      for (const [method, route, allow] of cases) {
        const res = await call(node.port, method, route, auth)
        expect(res.status, `${method} ${route}`).toBe(405)
        expect(res.headers.allow).toBe(allow)
        expect(res.json).toMatchObject({error: true, msg: expect.stringContaining(method)})
      }
      const unknown = await call(node.port, 'GET', '/nowhere', auth)
      expect(unknown.status).toBe(404)
      expect(unknown.json).toMatchObject({error: true})
    })
  })

  it('answers huge headers with 431, on routes and on the upgrade', async () => {
    await duringTraffic('headers', async () => {
      const huge = 'x'.repeat(64 * 1024)
      const res = await call(node.port, 'GET', '/healthz', {headers: {'x-huge': huge}})
      expect(res.status).toBe(431)
      const raw = await RawSocket.upgrade(node.port, `/ws?token=${TOKEN}`, {'x-huge': huge})
      expect(raw.status).toBe(431)
      raw.destroy()
    })
  })

  it('answers a garbled request line with 400', async () => {
    await duringTraffic('garbled', async () => {
      const raw = await RawSocket.connect(node.port)
      raw.write('THIS IS NOT HTTP\r\n\r\n')
      await raw.until(() => raw.response !== '')
      expect(raw.status).toBe(400)
      raw.destroy()
    })
  })

  it('refuses an upgrade on another path with 404 JSON', async () => {
    const raw = await RawSocket.upgrade(node.port, `/not-ws?token=${TOKEN}`)
    expect(raw.status).toBe(404)
    raw.destroy()
    await expectServing()
  })

  it('keeps serving while half-open connections hang mid-request, and drops them after the headers timeout', async () => {
    await duringTraffic('half-open', async () => {
      const sockets = await Promise.all(Array.from({length: 50}, () => RawSocket.connect(node.port)))
      sockets.forEach((s, i) => s.write(i % 2 ? `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` : 'POST /echo HTTP/1.1\r\nHost: x\r\n'))
      await expectServing()
      // the node, not the test, ends them: a slowloris cannot hold sockets forever
      await Promise.all(sockets.map((s) => s.closed))
      expect(sockets.every((s) => s.socket.destroyed)).toBe(true)
    })
  })

  it('answers a body that stops half-way without hanging other requests', async () => {
    await duringTraffic('short-body', async () => {
      const socket = net.connect(node.port, '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      let answer = ''
      socket.on('data', (d: Buffer) => (answer += d.toString()))
      const closed = new Promise((resolve) => socket.on('close', resolve))
      socket.write(`POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000\r\n\r\nonly a little`)
      // the body is still coming: other requests are served meanwhile
      await expectServing()
      expect(answer).toBe('')
      // the client gives up half-way (FIN): the request is answered as a bad one, not echoed
      socket.end()
      await closed
      expect(answer).toMatch(/^HTTP\/1\.1 400 /)
    })
  })
})

/** Routes that take a JSON body. */
const JSON_ROUTES: Array<[string, string]> = [
  ['POST', '/client'],
  ['PATCH', '/client'],
]

describe('bad JSON bodies', () => {
  it('answers malformed JSON and wrong types with 400 JSON on every JSON route', async () => {
    await duringTraffic('json', async () => {
      const bodies = ['{', '{"ip":', 'not json', '[]', '"a string"', '42', 'null', '{"ip":42,"port":"x","name":[]}', '{"id":{"$ne":1}}', '\u0000\uFFFF']
      for (const [method, route] of JSON_ROUTES) {
        for (const body of bodies) {
          const res = await call(node.port, method, route, {headers: {...bearer(TOKEN), 'content-type': 'application/json'}, body})
          expect(res.status, `${method} ${route} ${body}`).toBe(400)
          expect(res.json).toMatchObject({error: true, msg: expect.any(String)})
        }
      }
    })
  })

  it('never answers 5xx or a non-JSON error to any body on a JSON route (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...JSON_ROUTES), fc.oneof(fc.json(), fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), async ([method, route], body) => {
        const res = await call(node.port, method, route, {headers: {...bearer(TOKEN), 'content-type': 'application/json'}, body})
        expect(res.status).toBeLessThan(500)
        if (res.status >= 400) expect(res.json).toMatchObject({error: true, msg: expect.any(String)})
      }),
      {numRuns: 100},
    )
    await expectServing()
  })

  it('echoes malformed JSON on /echo verbatim: its content is arbitrary', async () => {
    const res = await call(node.port, 'POST', '/echo', {headers: {...bearer(TOKEN), 'content-type': 'application/json'}, body: '{"ip":'})
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe('{"ip":')
  })
})

describe('a hostile relay client', () => {
  let hostile: Awaited<ReturnType<typeof startNode>>
  beforeAll(async () => {
    hostile = await startNode(['hostile', '--port', '0', '--no-repl', '--token', TOKEN, '--max-pending', '20'])
  })
  afterAll(async () => {
    hostile.kill('SIGTERM')
    await hostile.exited
  })
  const pending = async () => ((await call(hostile.port, 'GET', '/stats', auth)).json as {pending: number}).pending

  it('cannot acknowledge a message it was not handed: its ok is refused and the real receiver still answers', async () => {
    // alone on the node, the origin is the only receiver its message can go to
    const origin = await new TestClient(hostile.url, auth).open()
    origin.send('message forged-target')
    await origin.waitFor((f) => f === 'message forged-target')
    const forger = await new TestClient(hostile.url, auth).open()
    forger.send('ok forged-target')
    expect(await forger.waitFor((f) => f.startsWith('error '))).toMatch(/^error ok for a message this connection was not handed/)
    expect(origin.frames).not.toContain('ok forged-target')
    expect(await pending()).toBe(1)
    // the holder's own ok still counts
    origin.send('ok forged-target')
    await origin.waitFor((f) => f === 'ok forged-target')
    expect(await pending()).toBe(0)
    await Promise.all([forger.close(), origin.close()])
  })

  it('cannot make the node hold more than --max-pending messages for one connection; the others flow on', async () => {
    // a client that never acknowledges anything, not even its own messages
    const hog = await new TestClient(hostile.url, auth).open()
    for (let i = 0; i < 25; i++) hog.send(`message hog-${i}`)
    const refusals = () => hog.frames.filter((f) => f.startsWith('error too many messages waiting')).length
    await waitFor(() => refusals() === 5)
    expect(await pending()).toBe(20)
    // the others are not capped by the hog's count; what the hog is handed waits until it leaves
    const a = await new AckingClient(hostile.url, auth).open()
    const b = await new AckingClient(hostile.url, auth).open()
    // each stays under its own cap of 20
    const delivered = Promise.all([a.sendMany('capped-a', 15), b.sendMany('capped-b', 15)])
    await waitFor(async () => (await pending()) >= 20 + 1)
    await hog.close()
    await delivered
    for (const c of [a, b]) expect(c.frames.filter((f) => f.startsWith('error '))).toEqual([])
    expect(refusals()).toBe(5)
    await Promise.all([a.close(), b.close()])
    await waitFor(async () => (await pending()) === 0)
  })
})

/** Waits until `cond` holds, re-checking every few milliseconds. */
async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

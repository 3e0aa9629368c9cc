import fc from 'fast-check'
import {readFileSync, rmSync} from 'node:fs'
import net from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import WebSocket from 'ws'
import {cliEnv, events, freePort, runCli, spawnCli, startNode, trackProcesses, type Spawned} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'
import {closePayload, OP, RawSocket, rawFrame} from '../helpers/raw.js'
import {AckingClient} from '../helpers/relay.js'
import {BulkClient} from '../helpers/bulk-client.js'
import {makeCert} from '../helpers/tls.js'
import {TestClient} from '../helpers/ws.js'

/**
 * Throws bad input at a real node on purpose. For each kind: the expected
 * clear error, the node keeps serving (/healthz), and two well-behaved relay
 * clients exchanging `message X`/`ok X` while the abuse happens get every one
 * of their messages acknowledged.
 *
 * What issue 13 (third-party clients, a hostile tester) found on the node's
 * side is here too: hostile text for the operator's terminal (item 1),
 * subprotocols (2), failed TLS handshakes (3), Origin: null (4), HTTP
 * conventions on /ws and the routes (5), refused bodies and half-open
 * refused connections (6), forged acknowledgements (12) and the cap on what
 * one connection may have waiting (11, `--max-pending`) under "a hostile
 * relay client". The open-file limit (7) needs its own node under a low ulimit:
 * open-file-limit.test.ts. The client side (items 1, 8, 9) is in
 * client-hardening.test.ts, the welcome wait (10) in link.test.ts,
 * --token-file (13) in auth.test.ts.
 *
 * Slow readers (issue 17): a client that stops reading neither grows the
 * node without bound nor keeps what it was handed from being acknowledged.
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

describe('payloads', () => {
  it('relays message X and ok X byte for byte, for any UTF-8 X (property)', async () => {
    // alone on the node, the client is the receiver of its own messages
    const client = await openClient()
    try {
      await fc.assert(
        fc.asyncProperty(fc.string({unit: 'grapheme', minLength: 1, maxLength: 200}), async (text) => {
          const seen = client.frames.length
          client.ws.send(Buffer.from(`message ${text}`), {binary: false})
          await client.waitFor(() => client.frames.length > seen)
          expect(client.frames[seen]).toBe(`message ${text}`)
          client.ws.send(Buffer.from(`ok ${text}`), {binary: false})
          await client.waitFor(() => client.frames.length > seen + 1)
          expect(client.frames[seen + 1]).toBe(`ok ${text}`)
        }),
        {numRuns: 200},
      )
    } finally {
      await client.close()
    }
  })
})

describe('ws\'s optional native helper', () => {
  it('relays large and small messages the same with bufferutil and without it (WS_NO_BUFFER_UTIL)', async () => {
    for (const without of [false, true]) {
      const env = cliEnv(without ? {WS_NO_BUFFER_UTIL: '1'} : {})
      const plain = await startNode(['helper', '--port', '0', '--no-repl', '--token', TOKEN], env)
      try {
        const client = await new TestClient(plain.url, auth).open()
        for (const size of [10, 31, 32, 4096, 100_000]) {
          const text = `${size}:${'é'.repeat(size)}`
          client.send(`message ${text}`)
          await client.waitFor((f) => f === `message ${text}`)
        }
        await client.close()
      } finally {
        plain.kill('SIGTERM')
        await plain.exited
      }
    }
  })
})

describe('subprotocols', () => {
  it('selects peerlink.v1 when offered and no subprotocol otherwise, never echoing an unknown one', async () => {
    await duringTraffic('subprotocol', async () => {
      const cases: Array<[string, string | undefined]> = [
        ['chat, superchat', undefined],
        ['chat', undefined],
        ['chat, peerlink.v1', 'peerlink.v1'],
        ['peerlink.v1', 'peerlink.v1'],
        ['peerlink.v2', undefined],
      ]
      for (const [offered, selected] of cases) {
        const raw = await RawSocket.upgrade(node.port, `/ws?token=${TOKEN}`, {'Sec-WebSocket-Protocol': offered})
        expect(raw.status, offered).toBe(101)
        const answered = /^sec-websocket-protocol: *(.*)$/im.exec(raw.response)?.[1]
        expect(answered, offered).toBe(selected)
        raw.destroy()
        await raw.closed
      }
    })
  })
})

describe('origins', () => {
  it('refuses Origin: null with 403 JSON naming --allow-origin null when it is not allowed', async () => {
    const raw = await RawSocket.upgrade(node.port, `/ws?token=${TOKEN}`, {Origin: 'null'})
    expect(raw.status).toBe(403)
    await raw.until(() => raw.body.includes('}'))
    expect(JSON.parse(raw.body)).toMatchObject({error: true, msg: expect.stringContaining('--allow-origin null')})
    raw.destroy()
  })
})

describe('failed TLS handshakes', () => {
  it('logs a failed handshake once per peer address and interval, naming the address and the reason', async () => {
    const cert = makeCert()
    const secure = await startNode(['secure', '--port', '0', '--no-repl', '--token', TOKEN, '--tls-cert', cert.cert, '--tls-key', cert.key])
    try {
      // plain HTTP to the TLS port, twice: two failed handshakes from 127.0.0.1
      for (let i = 0; i < 2; i++) {
        const raw = await RawSocket.connect(secure.port)
        raw.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
        await raw.closed
      }
      // a marker event: anything reported before it has been written before it
      const client = await new TestClient(secure.url, {ca: readFileSync(cert.cert), headers: bearer(TOKEN)}).open()
      await secure.waitForOutput(/"event":"client_connected"/)
      await client.close()
      const failures = events(secure.stdout()).filter((e) => e.event === 'error' && /TLS handshake/.test(String(e.msg)))
      expect(failures).toHaveLength(1)
      expect(failures[0].msg).toMatch(/^TLS handshake with 127\.0\.0\.1 failed: .*http request.*; further failures from 127\.0\.0\.1 are not shown for \d+s$/)
    } finally {
      secure.kill('SIGTERM')
      await secure.exited
      rmSync(cert.dir, {recursive: true, force: true})
    }
  })
})

/** Writes `head` (request line and headers, without the blank line) on a raw socket and waits for the answer's head. */
async function rawRequest(lines: string[]): Promise<RawSocket> {
  const raw = await RawSocket.connect(node.port)
  raw.write(`${lines.join('\r\n')}\r\n\r\n`)
  await raw.until(() => raw.response !== '' || raw.socket.destroyed)
  return raw
}

function header(raw: RawSocket, name: string): string | undefined {
  return new RegExp(`^${name}: *(.*)$`, 'im').exec(raw.response)?.[1]
}

/** The headers of a valid upgrade of /ws with the token, minus those named in `without`, plus `extra`. */
function upgradeHeaders(extra: Record<string, string> = {}, without: string[] = []): string[] {
  const base: Record<string, string> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    Authorization: `Bearer ${TOKEN}`,
    ...extra,
  }
  return Object.entries(base)
    .filter(([k]) => !without.includes(k))
    .map(([k, v]) => `${k}: ${v}`)
}

describe('HTTP conventions on the WebSocket endpoint and the routes', () => {
  it('answers HEAD on GET routes like GET, without a body', async () => {
    for (const [route, opts] of [
      ['/healthz', {}],
      ['/stats', auth],
      ['/clients', auth],
    ] as const) {
      const get = await call(node.port, 'GET', route, opts)
      const head = await call(node.port, 'HEAD', route, opts)
      expect(head.status, route).toBe(200)
      expect(head.body.length, route).toBe(0)
      expect(head.headers['content-type'], route).toBe(get.headers['content-type'])
    }
    // the guard answers HEAD as it answers GET
    expect((await call(node.port, 'HEAD', '/stats')).status).toBe(401)
  })

  it('answers GET /ws without an Upgrade with 426, Upgrade: websocket, as JSON', async () => {
    for (const path of ['/ws', '/ws/', `/ws?token=${TOKEN}`]) {
      const res = await call(node.port, 'GET', path, auth)
      expect(res.status, path).toBe(426)
      expect(res.headers.upgrade, path).toBe('websocket')
      expect(res.json, path).toMatchObject({error: true, msg: expect.stringContaining('WebSocket')})
    }
  })

  it('sends WWW-Authenticate with the 401 that refuses an upgrade', async () => {
    const raw = await rawRequest(['GET /ws HTTP/1.1', ...upgradeHeaders({}, ['Authorization'])])
    expect(raw.status).toBe(401)
    expect(header(raw, 'www-authenticate')).toBe('Bearer realm="peerlink"')
    raw.destroy()
  })

  it('answers broken handshakes with JSON like every other error: bad key 400, bad version 426, POST 405', async () => {
    await duringTraffic('handshakes', async () => {
      const cases: Array<[string, string[], number, Record<string, string>]> = [
        ['a short key', ['GET /ws HTTP/1.1', ...upgradeHeaders({'Sec-WebSocket-Key': 'c2hvcnQ='})], 400, {}],
        ['no key', ['GET /ws HTTP/1.1', ...upgradeHeaders({}, ['Sec-WebSocket-Key'])], 400, {}],
        ['version 12', ['GET /ws HTTP/1.1', ...upgradeHeaders({'Sec-WebSocket-Version': '12'})], 426, {'sec-websocket-version': '13'}],
        ['version 8', ['GET /ws HTTP/1.1', ...upgradeHeaders({'Sec-WebSocket-Version': '8'})], 426, {'sec-websocket-version': '13'}],
        ['no version', ['GET /ws HTTP/1.1', ...upgradeHeaders({}, ['Sec-WebSocket-Version'])], 426, {'sec-websocket-version': '13'}],
        ['POST', ['POST /ws HTTP/1.1', ...upgradeHeaders({'Content-Length': '0'})], 405, {allow: 'GET'}],
        ['another protocol', ['GET /ws HTTP/1.1', ...upgradeHeaders({Upgrade: 'h2c'})], 426, {upgrade: 'websocket'}],
        ['a malformed subprotocol list', ['GET /ws HTTP/1.1', ...upgradeHeaders({'Sec-WebSocket-Protocol': 'chat,,x y'})], 400, {}],
      ]
      for (const [what, lines, status, headers] of cases) {
        const raw = await rawRequest(lines)
        expect(raw.status, what).toBe(status)
        expect(header(raw, 'content-type'), what).toMatch(/^application\/json/)
        for (const [name, value] of Object.entries(headers)) expect(header(raw, name), `${what}: ${name}`).toBe(value)
        await raw.until(() => raw.body.endsWith('}'))
        expect(JSON.parse(raw.body), what).toMatchObject({error: true, msg: expect.any(String)})
        raw.destroy()
      }
    })
  })

  it('answers POST /client, which creates an entry, with 201', async () => {
    const res = await call(node.port, 'POST', '/client', {headers: {...bearer(TOKEN), 'content-type': 'application/json'}, body: JSON.stringify({ip: '127.0.0.1', port: 1, name: 'created'})})
    expect(res.status).toBe(201)
    expect(res.json).toMatchObject({id: expect.any(String)})
  })
})

describe('bad HTTP', () => {
  it('answers wrong methods with 405 JSON and an Allow header', async () => {
    await duringTraffic('methods', async () => {
      const cases: Array<[string, string, string]> = [
        ['DELETE', '/healthz', 'GET, HEAD'],
        ['POST', '/stats', 'GET, HEAD'],
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

/** What a client that streams a large body saw: the answer's head (empty when none came) and how the connection ended. */
interface BodyOutcome {
  response: string
  status: number
  /** the node's answer arrived before the client had sent the whole body */
  answeredEarly: boolean
  error?: string
}

/**
 * Sends `head` and then `bodyBytes` of body (chunked or as declared), reading
 * all the while, and stops writing once an answer came. With `keepSending` it
 * ignores the answer and the node's FIN and writes on until the node ends the
 * connection (what an unbounded lingering close would never do).
 */
async function streamBody(lines: string[], bodyBytes: number, opts: {chunked?: boolean; keepSending?: boolean} = {}): Promise<BodyOutcome> {
  const socket = net.connect({port: node.port, host: '127.0.0.1', allowHalfOpen: Boolean(opts.keepSending)})
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  let received = ''
  let error: string | undefined
  let sent = 0
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')))
  socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message))
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  const head = [...lines, opts.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${bodyBytes}`]
  socket.write(`${head.join('\r\n')}\r\n\r\n`)
  const chunk = Buffer.alloc(64 * 1024, 'z')
  const answered = () => /\r\n\r\n/.test(received) && !/^HTTP\/1\.1 100 /.test(received)
  let answeredEarly = false
  while ((sent < bodyBytes || opts.keepSending) && !socket.destroyed && error === undefined) {
    if (answered() && !opts.keepSending) {
      answeredEarly = sent < bodyBytes
      break
    }
    const piece = opts.chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk
    sent += chunk.length
    if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve))
  }
  if (!socket.destroyed && !opts.keepSending) {
    if (opts.chunked && sent >= bodyBytes) socket.end('0\r\n\r\n')
    else socket.end()
  }
  await closed
  const response = received.split('\r\n\r\n')[0]
  return {response, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0), answeredEarly, ...(error === undefined ? {} : {error})}
}

describe('bodies the node refuses', () => {
  const BIG = 16 * 1024 * 1024
  const echo = (token = TOKEN) => ['POST /echo HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Content-Type: text/plain']

  it('answers a body over the limit with 413 the client reads, with no reset: declared, chunked, and with a wrong token (401)', async () => {
    await duringTraffic('big-body', async () => {
      const cases: Array<[string, string[], {chunked?: boolean}, number]> = [
        ['declared length', echo(), {}, 413],
        ['chunked', echo(), {chunked: true}, 413],
        ['wrong token', echo('wrong'), {}, 401],
        ['wrong token, chunked', echo('wrong'), {chunked: true}, 401],
      ]
      for (const [what, lines, opts, status] of cases) {
        const outcome = await streamBody(lines, BIG, opts)
        expect(outcome.status, `${what}: ${JSON.stringify(outcome)}`).toBe(status)
        expect(outcome.error, what).toBeUndefined()
        expect(outcome.response, what).toMatch(/^connection: close$/im)
      }
    })
  })

  it('ends a refused upload that never stops after a bounded time', async () => {
    // chunked, so that no length ever ends it: only the node can
    const outcome = await streamBody(echo(), BIG, {keepSending: true, chunked: true})
    expect(outcome.status).toBe(413)
    await expectServing()
  })

  it('closes refused connections even when the client never closes its side (upgrade 401, garbled request 400)', async () => {
    for (const bytes of [`GET /ws HTTP/1.1\r\n${upgradeHeaders({}, ['Authorization']).join('\r\n')}\r\n\r\n`, 'THIS IS NOT HTTP\r\n\r\n']) {
      const socket = net.connect({port: node.port, host: '127.0.0.1', allowHalfOpen: true})
      socket.on('error', () => {})
      let received = ''
      socket.on('data', (d: Buffer) => (received += d.toString()))
      socket.write(bytes)
      await new Promise((resolve) => socket.once('end', resolve))
      expect(received).toMatch(/^HTTP\/1\.1 (401|400) /)
      // The node half-closed; it must not hold the descriptor for as long as
      // the client likes. Once it has closed, the next byte we send is reset.
      const gone = new Promise((resolve) => socket.once('error', resolve))
      const poke = setInterval(() => socket.write('x'), 200)
      await gone
      clearInterval(poke)
      socket.destroy()
    }
  })

  it('honours Expect: 100-continue: refuses before the body is sent (413, 401), continues otherwise', async () => {
    for (const [lines, status] of [
      [echo(), 413],
      [echo('wrong'), 401],
    ] as const) {
      const raw = await rawRequest([...lines, 'Expect: 100-continue', `Content-Length: ${BIG}`])
      // the final answer comes first: no 100 Continue, not one byte of the body sent
      expect(raw.status).toBe(status)
      raw.destroy()
    }
    const raw = await rawRequest([...echo(), 'Expect: 100-continue', 'Content-Length: 5'])
    expect(raw.status).toBe(100)
    raw.write('hello')
    await raw.until(() => raw.body.includes('HTTP/1.1 200') && raw.body.endsWith('hello'))
    raw.destroy()
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

/** Anything a terminal could act on (see src/protocol/terminal-text.ts); a newline ends each line and is checked apart. */
const TERMINAL_UNSAFE = /[\p{Cc}\p{Bidi_Control}\p{Zl}\p{Zp}\p{Cs}]/u

describe('text from the network on the operator\'s terminal', () => {
  it('shows names, messages, frame errors and close reasons from a client escaped, one real line per event', async () => {
    const texty = spawnCli(['start', 'texty', '--port', '0', '--no-repl', '--token', TOKEN])
    try {
      const [, port] = await texty.waitForOutput(/listening on ws:\/\/127\.0\.0\.1:(\d+)\/ws/)
      const client = await new TestClient(`ws://127.0.0.1:${port}/ws`, auth).open()
      client.send(`hello ${JSON.stringify({name: 'evil\n00:00:00 texty forged name\u001b[2J\ud800'})}`)
      await client.waitFor((f) => f.startsWith('welcome '))
      // (a lone surrogate cannot cross the wire as UTF-8, but JSON in a hello can carry one)
      // the relay's one connection is the sender itself: it gets its message back and acknowledges it
      const text = 'hi\u001b]52;c;cm0gLXJmIH4=\u0007\n00:00:00 texty forged message\u009b2J\u202eexe.txt'
      client.send(`message ${text}`)
      await client.waitFor((f) => f === `message ${text}`)
      client.send(`ok ${text}`)
      await client.waitFor((f) => f === `ok ${text}`)
      client.send('hello {"name":"evil\u001b[31m')
      await client.waitFor((f) => f.startsWith('error '))
      client.ws.close(4001, 'bye\u001b[2J\n00:00:00 texty forged reason')
      await client.closed
      await texty.waitForOutput(/disconnected/)

      const out = texty.stdout()
      const err = texty.stderr()
      expect(err).toMatch(/error: bad frame from evil\\n/)
      for (const line of [...out.split('\n'), ...err.split('\n')].filter((l) => l !== '')) {
        expect(line, JSON.stringify(line)).not.toMatch(TERMINAL_UNSAFE)
        expect(line, JSON.stringify(line)).toMatch(/^\d\d:\d\d:\d\d texty /)
      }
      expect(out).toContain('evil\\n00:00:00 texty forged name\\x1b[2J\\ud800')
      expect(out).toContain('hi\\x1b]52;c;cm0gLXJmIH4=\\x07\\n00:00:00 texty forged message\\x9b2J\\u202eexe.txt')
      expect(out).toContain('bye\\x1b[2J\\n00:00:00 texty forged reason')
    } finally {
      texty.kill('SIGTERM')
      await texty.exited
    }
  })

  it('keeps --json exact: the same hostile texts parse back to what was sent', async () => {
    await duringTraffic('json-exact', async () => {
      const client = await openClient()
      const text = 'x\u001b[2J\n\u009b\u202e\u2028'
      client.send(`message ${text}`)
      await node.waitForOutput(/"event":"message_relayed","from":"[^"]*","text":"x\\u001b\[2J\\n\\u009b\\u202e\\u2028"/)
      const relayed = events(node.stdout()).filter((e) => e.event === 'message_relayed' && e.text === text)
      expect(relayed.length).toBeGreaterThan(0)
      // raw, the NDJSON holds none of them either
      expect(node.stdout()).not.toMatch(/[\u0080-\u009f\u202e\u2028]/)
      await client.close()
    })
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

/** A node in text mode with its stdout thrown away (its relay lines would quote megabytes), on a port chosen beforehand. */
async function quietNode(name: string, args: string[], track: <T extends Spawned>(s: T) => T): Promise<Spawned & {port: number; url: string}> {
  const port = await freePort()
  const s = track(spawnCli(['start', name, '--port', String(port), '--no-repl', '--token', TOKEN, ...args], cliEnv(), ['sh', '-c', 'exec "$@" >/dev/null', 'sh']))
  await waitFor(async () => (await call(port, 'GET', '/healthz').catch(() => undefined))?.status === 200)
  return Object.assign(s, {port, url: `ws://127.0.0.1:${port}/ws`})
}

/** A Linux process's resident set now (VmRSS) or at its peak so far (VmHWM), in bytes. */
function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no ${field} for ${pid}`)
  return Number(m[1]) * 1024
}

describe('slow readers', () => {
  const MiB = 1024 * 1024
  const track = trackProcesses()

  it('keeps the node bounded while one client stops reading and another sends 400 × 512 KiB; every message is acknowledged', async () => {
    const slow = await quietNode('slow-reader', [], track)
    const pending = async () => ((await call(slow.port, 'GET', '/stats', auth)).json as {pending: number}).pending
    const sender = new BulkClient(slow.url, TOKEN)
    const stalled = new BulkClient(slow.url, TOKEN)
    try {
      await Promise.all([sender.opened, stalled.opened])
      const before = memoryOf(slow.proc.pid as number, 'VmRSS')
      stalled.ws.pause()
      await sender.sendAll('bulk', 400, 512 * 1024)
      // every message but those the stalled client holds comes back acknowledged
      await waitFor(async () => sender.acked.size + (await pending()) === 400, 60_000)
      // Picked at random, the stalled client would hold about half of them;
      // past --max-buffer (4 MiB by default) it is picked no more, so it holds
      // what its socket buffers took and a few frames more.
      expect(await pending()).toBeLessThan(100)
      // Generous, as a test on a shared machine must be: 200 MB of messages
      // went through, and how much of it is garbage not yet collected at the
      // peak depends on how busy the machine is (quiet: about 135 MB, see
      // bench:memory; once 208 MiB with three other test files running).
      // Without the bound the stalled client holds about half of them, which
      // the pending count above catches.
      expect(memoryOf(slow.proc.pid as number, 'VmHWM') - before).toBeLessThan(300 * MiB)
      // it reads again: what it was handed is acknowledged after all
      stalled.ws.resume()
      await sender.ackedAtLeast(400)
      await waitFor(async () => (await pending()) === 0)
    } finally {
      sender.ws.terminate()
      stalled.ws.terminate()
      slow.kill('SIGTERM')
      await slow.exited
    }
  })

  it('closes a client that stops reading and keeps sending with 1008 "too slow" when it stays past twice --max-buffer, and hands on what it held', async () => {
    const node2 = await quietNode('too-slow', ['--max-payload', '64KiB', '--max-buffer', '64KiB'], track)
    const sender = new BulkClient(node2.url, TOKEN)
    const stalled = new BulkClient(node2.url, TOKEN)
    try {
      await Promise.all([sender.opened, stalled.opened])
      stalled.ws.pause()
      // The stalled client is handed some of the sender's messages before it
      // falls behind; the oks of its own messages pile up in front of it
      // until the node gives up on it. Only then can the sender's messages it
      // held (re-forwarded) be acknowledged: the stalled client never reads them.
      const sent = sender.sendAll('handed', 200, 60 * 1024)
      for (let i = 0; i < 600; i++) stalled.ws.send(`message ${BulkClient.text('own', i, 60 * 1024)}`)
      await sent
      await sender.ackedAtLeast(200)
      await node2.waitForOutput(/error: closed 127\.0\.0\.1:\d+ with 1008 "too slow": \d+ bytes were waiting/)
      // reading again, it finds the close frame behind what was waiting for it
      stalled.ws.resume()
      expect(await stalled.closed).toEqual({code: 1008, reason: 'too slow'})
      await waitFor(async () => ((await call(node2.port, 'GET', '/stats', auth)).json as {connections: number}).connections === 1)
    } finally {
      sender.ws.terminate()
      stalled.ws.terminate()
      node2.kill('SIGTERM')
      await node2.exited
    }
  })

  it('refuses a --max-buffer below --max-payload with one line and exit 2', async () => {
    const result = await runCli(['start', 'tight', '--port', '0', '--no-repl', '--token', TOKEN, '--max-payload', '1MiB', '--max-buffer', '64KiB'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toMatch(/^[^\n]*--max-buffer: must be at least --max-payload \(1048576 bytes\)[^\n]*$/)
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

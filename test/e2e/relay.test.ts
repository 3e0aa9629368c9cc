import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {startNode, type Spawned} from '../helpers/cli.js'
import {openClients as open, TestClient, waitUntil} from '../helpers/ws.js'

let node: Spawned & {url: string; port: number}
let base: string
const opened: TestClient[] = []

/** Opens raw clients that are closed after the test, whatever its outcome. */
async function openClients(url: string, n: number): Promise<TestClient[]> {
  const clients = await open(url, n)
  opened.push(...clients)
  return clients
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()))
  // every test leaves the node as it found it: no connection, nothing pending
  expect(await waitForZeroState()).toMatchObject({connections: 0, pending: 0})
})

async function stats(): Promise<Record<string, number>> {
  return (await fetch(`${base}/stats`)).json() as Promise<Record<string, number>>
}

async function waitForZeroState(): Promise<Record<string, number>> {
  for (let i = 0; i < 100; i++) {
    const s = await stats()
    if (s.connections === 0 && s.pending === 0) return s
    await new Promise((r) => setTimeout(r, 50))
  }
  return stats()
}

/** Answers every `message Y` with `ok Y`. */
function autoAck(c: TestClient): void {
  c.ws.on('message', (d) => {
    const f = d.toString()
    if (f.startsWith('message ')) c.send(`ok ${f.slice(8)}`)
  })
}

beforeAll(async () => {
  node = await startNode(['relay', '--port', '0', '--no-repl', '--no-auth', '--max-payload', '1KiB'])
  base = `http://127.0.0.1:${node.port}`
})

afterAll(async () => {
  node.kill('SIGTERM')
  await node.exited
})

describe('the relay (raw ws clients against a spawned node)', () => {
  it('answers /healthz and /stats', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ok: true})
    expect(await stats()).toMatchObject({name: 'relay', connections: 0, peers: 0, pending: 0, outbox: 0})
  })

  it('spreads messages over all open connections, the sender included', async () => {
    const clients = await openClients(node.url, 3)
    clients.forEach(autoAck)
    const [sender] = clients
    for (let i = 0; i < 60; i++) sender.send(`message spread-${i}`)
    await sender.waitFor((f) => f === 'ok spread-59')
    for (let i = 0; i < 60; i++) await sender.waitFor((f) => f === `ok spread-${i}`)
    // 60 uniform picks among 3: each connection gets some (miss probability ~1e-10)
    for (const c of clients) expect(c.frames.filter((f) => f.startsWith('message spread-')).length).toBeGreaterThan(0)
    await Promise.all(clients.map((c) => c.close()))
    expect(await waitForZeroState()).toMatchObject({connections: 0, pending: 0})
  })

  it('routes ok X to every origin waiting for the same X', async () => {
    const clients = await openClients(node.url, 3)
    const [a, b] = clients
    const copies = () => clients.flatMap((c) => c.frames.filter((f) => f === 'message shared').map(() => c))
    // nobody answers until both origins' copies of X have been forwarded
    a.send('message shared')
    b.send('message shared')
    await waitUntil(() => copies().length === 2, 10_000, 'both copies of X forwarded')
    copies()[0].send('ok shared')
    await a.waitFor((f) => f === 'ok shared')
    await b.waitFor((f) => f === 'ok shared')
    await Promise.all(clients.map((x) => x.close()))
    expect(await waitForZeroState()).toMatchObject({connections: 0, pending: 0})
  })

  it('re-forwards X when its receiver closes before answering', async () => {
    const [origin, quitter] = await openClients(node.url, 2)
    autoAck(origin)
    let lost: string | undefined
    quitter.ws.on('message', (d) => {
      lost ??= d.toString().slice('message '.length)
      quitter.ws.close()
    })
    // the pick is random: send until one X lands on the quitter (p = 1/2 each)
    for (let i = 0; i < 40 && lost === undefined; i++) {
      origin.send(`message reforward-${i}`)
      await Promise.race([origin.waitFor((f) => f === `ok reforward-${i}`), quitter.closed])
    }
    expect(lost).toBeDefined()
    // the quitter closed without answering: the node must hand X to the origin, who acks it
    await origin.waitFor((f) => f === `message ${lost}`)
    await origin.waitFor((f) => f === `ok ${lost}`)
    await origin.close()
    expect(await waitForZeroState()).toMatchObject({connections: 0, pending: 0})
  })

  it('answers bad frames with an error frame and keeps the connection open', async () => {
    const [c] = await openClients(node.url, 1)
    autoAck(c)
    const bad = ['message', 'message ', 'frobnicate now', 'hello {nope', '']
    for (const f of bad) c.send(f)
    c.ws.send(Buffer.from([1, 2, 3]), {binary: true})
    await c.waitFor(() => c.frames.filter((f) => f.startsWith('error ')).length === bad.length + 1)
    const errors = c.frames.filter((f) => f.startsWith('error '))
    expect(errors.some((e) => /empty message/.test(e))).toBe(true)
    expect(errors.some((e) => /unknown verb "frobnicate"/.test(e))).toBe(true)
    expect(errors.some((e) => /bad json/.test(e))).toBe(true)
    expect(errors.some((e) => /binary/.test(e))).toBe(true)
    // still usable
    c.send('message still-here')
    await c.waitFor((f) => f === 'ok still-here')
    await c.close()
  })

  it('closes a connection that sends a frame over --max-payload with 1009, and keeps serving others', async () => {
    const [big, other] = await openClients(node.url, 2)
    autoAck(other)
    autoAck(big)
    big.send(`message ${'x'.repeat(2048)}`)
    expect((await big.closed).code).toBe(1009)
    other.send('message after-big')
    await other.waitFor((f) => f === 'ok after-big')
    await other.close()
    expect(await waitForZeroState()).toMatchObject({connections: 0, pending: 0})
  })

  it('welcomes a hello with the proposed UUID, or assigns one', async () => {
    const [a, b] = await openClients(node.url, 2)
    const id = '1f0e2d3c-4b5a-4697-8879-6a5b4c3d2e1f'
    a.send(`hello {"id":"${id}","name":"alice","role":"client"}`)
    expect(JSON.parse((await a.waitFor((f) => f.startsWith('welcome '))).slice(8))).toEqual({id, name: 'relay'})
    b.send(`hello {"id":"${id}","name":"bob"}`) // taken: the server assigns another
    const welcome = JSON.parse((await b.waitFor((f) => f.startsWith('welcome '))).slice(8))
    expect(welcome.id).not.toBe(id)
    expect(welcome.id).toMatch(/^[0-9a-f-]{36}$/)
    await Promise.all([a.close(), b.close()])
  })

  it('refuses upgrades on other paths with 404', async () => {
    const c = new TestClient(node.url.replace('/ws', '/nope'))
    await expect(c.open()).rejects.toThrow(/404/)
  })
})

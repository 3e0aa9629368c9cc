import {randomBytes} from 'node:crypto'
import {readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import type {Page} from 'playwright-core'
import WebSocket from 'ws'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {launchBrowser, type TestBrowser} from '../helpers/browser.js'
import {cliEnv, freePort, ROOT, startNode, trackProcesses} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'
import {AckingClient} from '../helpers/relay.js'
import {makeCert} from '../helpers/tls.js'
import {TestClient} from '../helpers/ws.js'

// every node of this file takes the same token, passed the way a user would (env)
const token = randomBytes(16).toString('hex')
const env = cliEnv({PEERLINK_TOKEN: token})
const track = trackProcesses()
/** The README's picture of the console, made by the first test. */
const SCREENSHOT = path.join(ROOT, 'resources', 'console.png')

let browser: TestBrowser

/** What the tests read of a page's globals (test files have no DOM types). */
interface PageGlobals {
  document: {querySelector(selector: string): {getAttribute(name: string): string | null} | null}
  __pwned?: number
}

beforeAll(async () => {
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
})

/** Two nodes A and B linked both ways, each reading its REPL from a pipe. */
async function linkedPair() {
  const portA = await freePort()
  const b = track(await startNode(['B', '--port', '0', '--peer', `ws://127.0.0.1:${portA}/ws`, '--grace', '0'], env))
  const a = track(await startNode(['A', '--port', String(portA), '--peer', b.url, '--grace', '0'], env))
  await a.waitForOutput(/"event":"peer_connected","peer":"B"/)
  await b.waitForOutput(/"event":"peer_connected","peer":"A"/)
  return {a, b}
}

async function openConsole(page: Page, origin: string, withToken: string | undefined): Promise<void> {
  await page.goto(withToken === undefined ? `${origin}/` : `${origin}/?token=${encodeURIComponent(withToken)}`)
}

describe('the web console', () => {
  it("shows node A live, sends from the send box with B's acknowledgement, shows B's messages as text", async () => {
    const {a, b} = await linkedPair()
    const page = await browser.context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (err) => pageErrors.push(err.message))
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text())
    })
    await openConsole(page, `http://127.0.0.1:${a.port}`, token)

    await page.locator('#status', {hasText: 'live'}).waitFor()
    // the token is read, then dropped from the address bar
    expect(page.url()).toBe(`http://127.0.0.1:${a.port}/`)
    expect(await page.locator('#node-name').textContent()).toBe('A')
    expect(await page.locator('#node-url').textContent()).toBe(a.url)
    await page.locator('#peers tr').filter({has: page.locator('td:first-child', {hasText: /^B$/})}).locator('td.up').waitFor()
    expect(await page.locator('#stat-peers').textContent()).toBe('1')

    // some relay traffic for the chart (and the README's picture), first so the messages below show on top: a round per chart sample
    const clients = await Promise.all([0, 1, 2].map(() => new AckingClient(a.url, {headers: bearer(token)}).open()))
    for (let round = 1; round <= 5; round++) {
      const before = Number(await page.locator('#chart').getAttribute('data-samples'))
      await clients[round % 3].sendMany(`load-${round}`, 15 * round)
      // runs in the page (whose DOM this file's types do not describe)
      await page.waitForFunction((n) => Number((globalThis as unknown as PageGlobals).document.querySelector('#chart')?.getAttribute('data-samples')) > n, before)
    }
    await page.locator('#events li', {hasText: /relayed \d+ messages.*folded/}).first().waitFor()
    await page.locator('#clients tr', {hasText: 'client'}).first().waitFor()

    // the send box: Enter sends to every peer, B's acknowledgement appears next to the message with its rtt
    await page.locator('#send').fill('hello from the console')
    await page.locator('#send').press('Enter')
    await b.waitForOutput(/"event":"message_received","from":"A","text":"hello from the console"/)
    const sent = page.locator('#sent li', {hasText: 'hello from the console'})
    await sent.locator('.ack.acked', {hasText: /^✓ B \d+ ms$/}).waitFor()
    await a.waitForOutput(/"event":"message_acked","text":"hello from the console","to":"B"/)

    // a message from B appears live
    b.proc.stdin.write('1 hello from B\n')
    await page.locator('#events li', {hasText: 'B: hello from B'}).waitFor()

    // hostile text from the network is shown as text: no element made, no script run, ANSI codes visible
    const hostile = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> \x1b[31mred\x1b[0m'
    b.proc.stdin.write(`1 ${hostile}\n`)
    const line = page.locator('#events li', {hasText: '<img src=x onerror='})
    await line.waitFor()
    expect(await line.textContent()).toContain('B: <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> \\x1b[31mred\\x1b[0m')
    expect(await page.locator('main img, main script').count()).toBe(0)
    expect(await page.evaluate(() => typeof (globalThis as unknown as PageGlobals).__pwned)).toBe('undefined')

    // the client table lists B's inbound link; its button asks B for its clock
    const row = page.locator('#clients tr').filter({has: page.locator('td:first-child', {hasText: /^B$/})})
    await row.waitFor()
    await row.getByRole('button', {name: 'ask time'}).click()
    await row.locator('td', {hasText: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/}).waitFor()

    // the uptime shows, and nothing went wrong in the page (no CSP violation, no script error)
    await page.locator('#uptime', {hasText: /^up \d+s$/}).waitFor()
    await page.locator('#events li', {hasText: '✓ B acknowledged: hello from the console'}).waitFor()
    expect(pageErrors).toEqual([])

    await page.screenshot({path: SCREENSHOT})
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG')
    await Promise.all(clients.map((c) => c.close()))
    await page.close()
  })

  it('asks for the token, says clearly when it is wrong, and opens with the right one', async () => {
    const node = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    const page = await browser.context.newPage()

    await openConsole(page, `http://127.0.0.1:${node.port}`, 'not-the-token')
    await page.locator('#login-error', {hasText: 'wrong token: the node refused it (401'}).waitFor()
    expect(await page.locator('#app').isHidden()).toBe(true)
    expect(page.url()).toBe(`http://127.0.0.1:${node.port}/`)

    // without any token the page asks, with no error yet
    await openConsole(page, `http://127.0.0.1:${node.port}`, undefined)
    await page.locator('#login').waitFor()
    expect(await page.locator('#login-error').textContent()).toBe('')

    await page.locator('#token').fill(token)
    await page.locator('#token').press('Enter')
    await page.locator('#status', {hasText: 'live'}).waitFor()
    expect(await page.locator('#node-name').textContent()).toBe('solo')
    // no peer: the send box says so in one line
    await page.locator('#send').fill('anyone?')
    await page.locator('#send').press('Enter')
    await page.locator('#sent li', {hasText: 'anyone?'}).locator('text=not sent: no peer to send to').waitFor()
    await page.close()
  })

  it('works over https and wss with --tls-cert', async () => {
    const cert = makeCert()
    const tlsBrowser = await launchBrowser({ignoreHTTPSErrors: true})
    try {
      const node = track(await startNode(['secure', '--port', '0', '--no-repl', '--tls-cert', cert.cert, '--tls-key', cert.key], env))
      expect(node.url).toMatch(/^wss:\/\//)
      const page = await tlsBrowser.context.newPage()
      await openConsole(page, `https://127.0.0.1:${node.port}`, token)
      await page.locator('#status', {hasText: 'live'}).waitFor()
      expect(page.url()).toBe(`https://127.0.0.1:${node.port}/`)
      // an event travels the wss stream: a client connecting shows up live
      const client = await new TestClient(node.url, {headers: bearer(token), ca: readFileSync(cert.cert)}).open()
      await page.locator('#events li', {hasText: /client 127\.0\.0\.1:\d+ connected/}).waitFor()
      await page.locator('#stat-connections', {hasText: '1'}).waitFor()
      await client.close()
      await page.close()
    } finally {
      await tlsBrowser.close()
      rmSync(cert.dir, {recursive: true, force: true})
    }
  })
})

describe('the console over HTTP', () => {
  it('serves the page and its files without the token, with a CSP that forbids inline script', async () => {
    const node = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    const page = await call(node.port, 'GET', '/')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    // the page itself has no inline script to allow
    expect(page.body.toString()).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/)
    for (const [file, type] of [['console.js', 'text/javascript'], ['console.css', 'text/css'], ['icon.svg', 'image/svg+xml']]) {
      const answer = await call(node.port, 'GET', `/console/${file}`)
      expect(answer.status).toBe(200)
      expect(String(answer.headers['content-type'])).toContain(type)
    }
    // nothing else is public: not other paths under /console/, not /send, not the data routes
    expect((await call(node.port, 'GET', '/console/../package.json')).status).toBe(401)
    expect((await call(node.port, 'GET', '/console/secret.txt')).status).toBe(401)
    expect((await call(node.port, 'POST', '/send', {body: '{"text":"x"}'})).status).toBe(401)
    expect((await call(node.port, 'GET', '/stats')).status).toBe(401)
  })

  it('POST /send queues for every peer and answers which; 409 without a peer, 400 on a bad body', async () => {
    // not the presets: a B without --peer would dial the preset's port 8080
    const b = track(await startNode(['sink', '--port', '0', '--no-repl'], env))
    const a = track(await startNode(['source', '--port', '0', '--peer', b.url, '--grace', '0', '--no-repl'], env))
    await a.waitForOutput(/"event":"peer_connected","peer":"sink"/)
    const ok = await call(a.port, 'POST', '/send', {headers: {...bearer(token), 'content-type': 'application/json'}, body: '{"text":"over http"}'})
    expect(ok.status).toBe(200)
    expect(ok.json).toEqual({error: false, msg: '', text: 'over http', queued: [{name: 'sink', url: b.url, up: true}]})
    await a.waitForOutput(/"event":"message_acked","text":"over http","to":"sink"/)
    await b.waitForOutput(/"event":"message_received","from":"source","text":"over http"/)

    const solo = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    const lonely = await call(solo.port, 'POST', '/send', {headers: bearer(token), body: '{"text":"anyone?"}'})
    expect(lonely.status).toBe(409)
    expect(lonely.json).toMatchObject({error: true, msg: expect.stringMatching(/^no peer to send to/)})
    for (const body of ['{"text":""}', '{"txt":"x"}', 'not json', '[]']) {
      const bad = await call(a.port, 'POST', '/send', {headers: bearer(token), body})
      expect(bad.status).toBe(400)
      expect(bad.json).toMatchObject({error: true})
    }
  })
})

describe('the /events stream', () => {
  const open = (port: number, opts: WebSocket.ClientOptions & {query?: string} = {}) => new TestClient(`ws://127.0.0.1:${port}/events${opts.query ?? ''}`, opts)

  it('needs the token (?token= too) and the node\'s own Origin', async () => {
    const node = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    await expect(open(node.port).open()).rejects.toThrow(/401/)
    await expect(open(node.port, {query: '?token=wrong'}).open()).rejects.toThrow(/401/)
    await expect(open(node.port, {query: `?token=${token}`, origin: 'http://evil.example'}).open()).rejects.toThrow(/403/)
    const viewer = await open(node.port, {query: `?token=${token}`, origin: `http://127.0.0.1:${node.port}`}).open()
    const hello = JSON.parse(await viewer.waitFor((f) => f.includes('"type":"hello"')))
    expect(hello).toMatchObject({type: 'hello', node: 'solo', url: node.url, history: expect.any(Array)})
    const tick = JSON.parse(await viewer.waitFor((f) => f.includes('"type":"tick"')))
    expect(tick.stats).toEqual({name: 'solo', connections: 0, peers: 0, pending: 0, outbox: 0, clients: 0})
    await viewer.close()
  })

  it('is never a relay connection: with one client besides it, every message goes to that client', async () => {
    const node = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    const viewer = await open(node.port, {headers: bearer(token)}).open()
    await viewer.waitFor((f) => f.includes('"type":"hello"'))
    // the relay picks among its connections, the sender included: were the
    // viewer one of them, some of 20 messages would go to it (all miss it: 2^-20)
    const client = await new TestClient(node.url, {headers: bearer(token)}).open()
    for (let i = 0; i < 20; i++) client.send(`message only-for-clients-${i}`)
    for (let i = 0; i < 20; i++) await client.waitFor((f) => f === `message only-for-clients-${i}`)
    const relayed = JSON.parse(await viewer.waitFor((f) => f.includes('"event":"message_relayed"')))
    expect(relayed).toMatchObject({type: 'event', data: {node: 'solo', event: 'message_relayed', text: 'only-for-clients-0', ts: expect.any(String)}})
    // every frame of the stream is a JSON object with a type, never a protocol frame
    for (const f of viewer.frames) expect(JSON.parse(f)).toHaveProperty('type')
    const stats = await call(node.port, 'GET', '/stats', {headers: bearer(token)})
    expect(stats.json).toMatchObject({connections: 1})
    await client.close()
    await viewer.close()
  })

  it('is closed with 1001 when the node stops, and the node still exits 0', async () => {
    const node = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    const viewer = await open(node.port, {headers: bearer(token)}).open()
    await viewer.waitFor((f) => f.includes('"type":"hello"'))
    node.kill('SIGTERM')
    expect(await viewer.closed).toEqual({code: 1001, reason: 'going away'})
    expect(await node.exited).toBe(0)
  })

  it('folds fast relay traffic into one line a second', async () => {
    const node = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    const viewer = await open(node.port, {headers: bearer(token)}).open()
    await viewer.waitFor((f) => f.includes('"type":"hello"'))
    const clients = await Promise.all([0, 1].map(() => new TestClient(node.url, {headers: bearer(token)}).open()))
    for (const c of clients) c.ws.on('message', (d) => d.toString().startsWith('message ') && c.send(`ok ${d.toString().slice(8)}`))
    for (let i = 0; i < 200; i++) clients[0].send(`message burst-${i}`)
    const folded = JSON.parse(await viewer.waitFor((f) => f.includes('"type":"folded"')))
    expect(folded.relayed).toBeGreaterThan(0)
    const shown = viewer.frames.filter((f) => f.includes('"event":"message_relayed"')).length
    expect(shown).toBeLessThan(200)
    await Promise.all(clients.map((c) => c.close()))
    await viewer.close()
  })
})

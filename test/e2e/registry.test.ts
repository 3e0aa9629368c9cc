import {afterEach, describe, expect, it} from 'vitest'
import {OutboundLink} from '../../src/client/outbound-link.js'
import {cliEnv, events, runCli, startNode, type Spawned} from '../helpers/cli.js'
import {TestClient} from '../helpers/ws.js'

const TOKEN = 't0k'
const AUTH = {authorization: `Bearer ${TOKEN}`}
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const SEED = {ip: '192.1.1.1', port: 1234, name: 'linus'}

/** Every spawned process and client shares one token, so these tests pass with auth on by default. */
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})

const spawned: Spawned[] = []
const closers: Array<() => Promise<unknown>> = []

afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()))
  for (const s of spawned.splice(0)) {
    s.kill()
    await s.exited
  }
})

async function node(args: string[]): Promise<Spawned & {url: string; port: number; base: string}> {
  const s = await startNode(args, env())
  spawned.push(s)
  return Object.assign(s, {base: `http://127.0.0.1:${s.port}`})
}

async function call(method: string, url: string, body?: unknown): Promise<{status: number; json: any}> {
  const res = await fetch(url, {
    method,
    headers: {...AUTH, ...(body === undefined ? {} : {'content-type': 'application/json'})},
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return {status: res.status, json: await res.json()}
}

/** Registrations outlive any slow test step: pruning is tested on its own, with a short TTL. */
const NO_PRUNING = ['--registry-ttl', '1h']

/** Polls `check` every 100 ms until it returns true (fails after `timeoutMs`). */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A raw WebSocket client that says hello and returns the id the server's welcome settled. */
async function helloClient(url: string, name: string): Promise<{client: TestClient; id: string}> {
  const client = await new TestClient(url, {headers: AUTH}).open()
  closers.push(() => client.close())
  client.send(`hello ${JSON.stringify({name, role: 'client'})}`)
  const welcome = await client.waitFor((f) => f.startsWith('welcome '))
  return {client, id: JSON.parse(welcome.slice(8)).id}
}

describe('name server', () => {
  it('answers the seed examples with the documented shapes', async () => {
    const r = await node(['R', '--port', '0', '--no-repl', ...NO_PRUNING])
    const reg = await call('POST', `${r.base}/client`, SEED)
    expect(reg.status).toBe(201)
    expect(Object.keys(reg.json)).toEqual(['id'])
    const id: string = reg.json.id
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)

    const list = await call('GET', `${r.base}/clients`)
    expect(list.status).toBe(200)
    expect(list.json).toEqual({[id]: {ip: '192.1.1.1', port: 1234, connected: expect.stringMatching(ISO_MS), name: 'linus', role: 'client'}})
    expect(Object.keys(list.json[id])).toEqual(['ip', 'port', 'connected', 'name', 'role'])

    const beat = await call('PATCH', `${r.base}/client`, {id})
    expect(beat.status).toBe(200)
    expect(beat.json[id]).toMatchObject({ip: '192.1.1.1', port: 1234, name: 'linus', role: 'client'})
    expect(Date.parse(beat.json[id].connected)).toBeGreaterThanOrEqual(Date.parse(list.json[id].connected))

    const node2 = await call('POST', `${r.base}/client`, {...SEED, name: 'n2', role: 'node', url: 'ws://192.1.1.1:1234/ws'})
    expect((await call('GET', `${r.base}/clients`)).json[node2.json.id]).toMatchObject({role: 'node', url: 'ws://192.1.1.1:1234/ws'})
    expect((await call('GET', `${r.base}/stats`)).json.clients).toBe(2)

    const cli = await runCli(['clients', r.base, '--json'], {env: env()})
    expect(cli.code).toBe(0)
    expect(Object.keys(JSON.parse(cli.stdout)).sort()).toEqual([id, node2.json.id].sort())
    const text = await runCli(['clients', r.url], {env: env()})
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(new RegExp(`${id}\\s+linus\\s+client\\s+192\\.1\\.1\\.1:1234`))
  })

  it('refuses bad bodies with 400 naming the field, and unknown ids with 404', async () => {
    const r = await node(['R', '--port', '0', '--no-repl', ...NO_PRUNING])
    const badPort = await call('POST', `${r.base}/client`, {...SEED, port: 'x'})
    expect(badPort.status).toBe(400)
    expect(badPort.json).toEqual({error: true, msg: expect.stringContaining('"port"')})
    const noName = await call('POST', `${r.base}/client`, {ip: '1.2.3.4', port: 1})
    expect(noName.status).toBe(400)
    expect(noName.json.msg).toContain('"name" is missing')
    const badRole = await call('POST', `${r.base}/client`, {...SEED, role: 'king'})
    expect(badRole.json.msg).toContain('"role"')
    const badUrl = await call('POST', `${r.base}/client`, {...SEED, url: 'http://x'})
    expect(badUrl.json.msg).toContain('"url"')
    const notJson = await call('POST', `${r.base}/client`, '{"ip":')
    expect(notJson).toEqual({status: 400, json: {error: true, msg: expect.stringContaining('JSON')}})
    const noId = await call('PATCH', `${r.base}/client`, {})
    expect(noId.status).toBe(400)
    expect(noId.json.msg).toContain('"id"')

    const unknown = await call('PATCH', `${r.base}/client`, {id: '00000000-0000-4000-8000-000000000000'})
    expect(unknown.status).toBe(404)
    expect(unknown.json.error).toBe(true)

    const {json} = await call('POST', `${r.base}/client`, SEED)
    expect((await call('DELETE', `${r.base}/clients/${json.id}`)).status).toBe(200)
    expect((await call('PATCH', `${r.base}/client`, {id: json.id})).status).toBe(404)
    expect((await call('DELETE', `${r.base}/clients/${json.id}`)).status).toBe(404)
    expect((await call('GET', `${r.base}/clients`)).json).toEqual({})
  })

  it('prunes an entry without heartbeat after the TTL, but never a connected client', async () => {
    const r = await node(['R', '--port', '0', '--no-repl', '--registry-ttl', '1s'])
    const live = await helloClient(r.url, 'live-one')
    const {json} = await call('POST', `${r.base}/client`, SEED)
    expect((await call('GET', `${r.base}/clients`)).json[json.id]).toBeDefined()
    await until(async () => (await call('GET', `${r.base}/clients`)).json[json.id] === undefined, 15_000, 'the registration to be pruned')
    // the live client has sent nothing since before the registration, and is still listed
    const list = (await call('GET', `${r.base}/clients`)).json
    expect(list[live.id]).toMatchObject({name: 'live-one', role: 'client', ip: '127.0.0.1'})
    await live.client.close()
    await until(async () => (await call('GET', `${r.base}/clients`)).json[live.id] === undefined, 5000, 'the closed client to leave')
  })
})

describe('reverse commands', () => {
  it("GET /clients/:id/system-time returns the client's own time", async () => {
    const r = await node(['R', '--port', '0', '--no-repl', ...NO_PRUNING])
    const link = new OutboundLink({url: r.url, hello: {name: 'timekeeper', role: 'client'}, token: TOKEN})
    closers.push(() => link.close())
    const up = new Promise((resolve) => link.once('up', resolve))
    link.start()
    await up
    const before = Date.now()
    const answer = await call('GET', `${r.base}/clients/${link.id}/system-time`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({error: false, msg: '', ts: expect.stringMatching(ISO_MS)})
    expect(Date.parse(answer.json.ts)).toBeGreaterThanOrEqual(before - 1000)

    const cli = await runCli(['time', r.base, link.id], {env: env()})
    expect(cli.code).toBe(0)
    expect(cli.stdout.trim()).toMatch(ISO_MS)

    const unknown = await call('GET', `${r.base}/clients/00000000-0000-4000-8000-000000000000/system-time`)
    expect(unknown).toEqual({status: 404, json: {error: true, msg: expect.any(String), ts: ''}})
    const {json} = await call('POST', `${r.base}/client`, SEED)
    const notLive = await call('GET', `${r.base}/clients/${json.id}/system-time`)
    expect(notLive).toEqual({status: 409, json: {error: true, msg: expect.stringContaining('no live'), ts: ''}})

    const cliMissing = await runCli(['time', r.base, json.id], {env: env()})
    expect(cliMissing.code).toBe(1)
    expect(cliMissing.stderr.trim().split('\n')).toHaveLength(1)
    expect(cliMissing.stderr).toContain('409')
  })

  it("the REPL's clients and time <id|name> list the table and ask a client", async () => {
    const r = await node(['relay', '--port', '0'])
    const link = new OutboundLink({url: r.url, hello: {name: 'timekeeper', role: 'client'}, token: TOKEN})
    closers.push(() => link.close())
    const up = new Promise((resolve) => link.once('up', resolve))
    link.start()
    await up
    r.proc.stdin.write(`clients\ntime timekeeper\ntime ${link.id}\ntime nobody\n`)
    await until(() => events(r.stdout()).filter((e) => e.topic === 'time').length === 2, 10_000, 'two time answers')
    await r.waitForOutput(/"event":"error","msg":"no client with id or name \\"nobody\\"/)
    const evs = events(r.stdout())
    const clients = evs.find((e) => e.event === 'info' && e.topic === 'clients') as unknown as {data: Record<string, {name: string}>}
    expect(clients.data[link.id]).toMatchObject({name: 'timekeeper', role: 'client'})
    for (const t of evs.filter((e) => e.topic === 'time')) expect(t.data).toEqual({id: link.id, name: 'timekeeper', ts: expect.stringMatching(ISO_MS)})
    r.proc.stdin.end()
    expect(await r.exited).toBe(0)
  })

  it('answers 504 when the client never answers the command', async () => {
    const r = await node(['R', '--port', '0', '--no-repl'])
    const mute = await helloClient(r.url, 'mute')
    const [answer, cli] = await Promise.all([call('GET', `${r.base}/clients/${mute.id}/system-time`), runCli(['time', r.base, mute.id], {env: env()})])
    expect(answer).toEqual({status: 504, json: {error: true, msg: expect.stringContaining('no answer'), ts: ''}})
    expect(mute.client.frames.some((f) => /^cmd \d+ system-time$/.test(f))).toBe(true)
    expect(cli.code).toBe(1)
    expect(cli.stderr).toMatch(/^error: .*504.*\n$/)
  })
})

describe('registry discovery', () => {
  it('three nodes that know only the registry form a mesh and exchange messages', async () => {
    const r = await node(['R', '--port', '0', '--no-repl', '--registry-ttl', '4s'])
    // not A or B: those are presets that dial a peer of their own
    const [a, b, c] = await Promise.all(['n1', 'n2', 'n3'].map((name) => node([name, '--port', '0', '--grace', '0', '--registry', r.base])))
    const linked = (s: Spawned) => events(s.stdout()).filter((e) => e.event === 'peer_connected').length
    for (const s of [a, b, c]) await until(() => linked(s) >= 2, 20_000, 'two peer links on each node')

    const list = (await call('GET', `${r.base}/clients`)).json
    const nodes = Object.values(list) as Array<{name: string; role: string; url: string}>
    expect(nodes.map((n) => n.name).sort()).toEqual(['n1', 'n2', 'n3'])
    expect(nodes.every((n) => n.role === 'node' && /^ws:\/\/127\.0\.0\.1:\d+\/ws$/.test(n.url))).toBe(true)

    a.proc.stdin.write('1 hello mesh\n')
    for (const s of [b, c]) await s.waitForOutput(/"event":"message_received","from":"n1","text":"hello mesh"/)
    await until(() => events(a.stdout()).filter((e) => e.event === 'message_acked' && e.text === 'hello mesh').length === 2, 10_000, 'two acks at A')

    // a node that stops leaves the registry at once, and the others drop their links to it
    a.proc.stdin.end()
    expect(await a.exited).toBe(0)
    const after = (await call('GET', `${r.base}/clients`)).json
    expect(Object.values(after).map((n: any) => n.name).sort()).toEqual(['n2', 'n3'])
    await b.waitForOutput(/"event":"peer_disconnected","peer":"n1"[^\n]*"dropped":true/)

    // a node that dies stays listed until the TTL; then its unacknowledged messages fail as "peer gone"
    c.kill('SIGKILL')
    await c.exited
    b.proc.stdin.write('1 into the void\n')
    await b.waitForOutput(/"event":"message_failed","text":"into the void","to":"n3","reason":"peer gone"/, 30_000)
    // n1 is gone too, so nothing waits: n2 stops at once, exit 1 as one message was never acknowledged
    b.proc.stdin.end()
    expect(await b.exited).toBe(1)
  })
})

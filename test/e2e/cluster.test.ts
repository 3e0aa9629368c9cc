import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {cliEnv, events, runCli, spawnCli, startNode, trackProcesses, type Spawned} from '../helpers/cli.js'
import {NatsServer} from '../helpers/nats.js'
import {AckingClient} from '../helpers/relay.js'
import {TestClient, waitUntil} from '../helpers/ws.js'

type Node = Spawned & {url: string; port: number; name: string}
interface ClusterView {
  name: string
  nodes: number
  connections: number
  pending: number
}

const track = trackProcesses()
let nats: NatsServer
const opened: TestClient[] = []

beforeEach(async () => {
  nats = await NatsServer.start()
})

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()))
  await nats.stop()
})

async function clusterNode(name: string, extra: string[] = []): Promise<Node> {
  const s = track(await startNode([name, '--port', '0', '--no-repl', '--no-auth', '--cluster', nats.url, ...extra]))
  return Object.assign(s, {name})
}

async function stats(node: {port: number}): Promise<Record<string, unknown> & {cluster?: ClusterView}> {
  return (await fetch(`http://127.0.0.1:${node.port}/stats`)).json() as Promise<Record<string, unknown> & {cluster?: ClusterView}>
}

/** Polls every node's /stats until `ok(cluster)` holds on each (their views come from heartbeats). */
async function untilEveryView(nodes: Array<{port: number}>, ok: (c: ClusterView) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const views = await Promise.all(nodes.map(async (n) => (await stats(n)).cluster))
    if (views.every((v) => v !== undefined && ok(v))) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(views)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function clusterOf(nodes: Node[], connections: number): Promise<void> {
  return untilEveryView(nodes, (c) => c.nodes === nodes.length && c.connections === connections, `${nodes.length} members with ${connections} connections`)
}

/** Zero state of the cluster: every member's connections and pending are 0, as each member sees it. */
function zeroState(nodes: Node[]): Promise<void> {
  return untilEveryView(nodes, (c) => c.connections === 0 && c.pending === 0, 'zero state of the cluster')
}

async function acking(node: Node, n: number, ackDelayMs = 0): Promise<AckingClient[]> {
  const clients = await Promise.all(Array.from({length: n}, () => new AckingClient(node.url, {}, ackDelayMs).open()))
  opened.push(...clients)
  return clients
}

/** Raw clients that never answer: whatever they are handed stays held by them. */
async function holders(node: Node, n: number): Promise<TestClient[]> {
  const clients = await Promise.all(Array.from({length: n}, () => new TestClient(node.url).open()))
  opened.push(...clients)
  return clients
}

const handed = (c: TestClient, prefix: string) => c.frames.filter((f) => f.startsWith(`message ${prefix}`))

describe('a cluster of nodes on one NATS server (real nats-server, spawned nodes)', () => {
  it('picks uniformly over every open connection of the cluster: 1, 2 and 7 connections on three nodes', async () => {
    const nodes = [await clusterNode('a'), await clusterNode('b'), await clusterNode('c')]
    const [onA, onB, onC] = [await acking(nodes[0], 1), await acking(nodes[1], 2), await acking(nodes[2], 7)]
    const all = [...onA, ...onB, ...onC]
    await clusterOf(nodes, 10)
    // Origins on every node in turn: each message goes to one of the 10 connections.
    const total = 4000
    const senders = [onA[0], onB[0], onC[0]]
    await Promise.all(senders.map((s, i) => s.sendMany(`u${i}`, Math.round(total / 3) + (i === 0 ? total - 3 * Math.round(total / 3) : 0), 60_000)))
    const counts = all.map((c) => c.frames.filter((f) => /^message u\d-/.test(f)).length)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total)
    // Pearson's chi-square over the 10 connections, 9 degrees of freedom,
    // each expecting 400. A correct relay exceeds 50 with probability
    // P(chi2_9 > 50) = 1.1e-7 (the threshold for 1e-6 would be 44.9); with
    // 400 expected per cell the multinomial statistic follows chi2_9 closely,
    // and the ninefold margin covers what it does not: this fails by chance
    // less than once in a million runs. A relay uniform over *nodes* (a queue
    // group over one subscription per node) gives the lone connection on
    // node a 1/3 of the messages instead of 1/10: chi-square in the thousands.
    const expected = total / all.length
    const chi2 = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0)
    expect(chi2, `counts per connection ${JSON.stringify(counts)}`).toBeLessThan(50)
    await Promise.all(opened.splice(0).map((c) => c.close()))
    await zeroState(nodes)
  })

  it('routes ok X across nodes to its origin, and names a remote receiver node/conn', async () => {
    const [a, b] = [await clusterNode('a'), await clusterNode('b')]
    const [sender] = await acking(a, 1)
    const [receiver] = await acking(b, 1)
    await clusterOf([a, b], 2)
    // each X goes to b with probability 1/2: 40 all staying on a has probability 1e-12
    await sender.sendMany('x', 40)
    expect(handed(receiver, 'x-').length).toBeGreaterThan(0)
    await a.waitForOutput(/"event":"message_relayed","from":"127\.0\.0\.1:\d+","text":"x-\d+","to":"b\/127\.0\.0\.1:\d+"/)
    await b.waitForOutput(/"event":"message_relayed","from":"a\/127\.0\.0\.1:\d+","text":"x-\d+","to":"127\.0\.0\.1:\d+"/)

    // two origins on two nodes wait for the same X: both get their ok
    const [other] = await acking(b, 1)
    await clusterOf([a, b], 3)
    await Promise.all([sender.sendMany('shared', 1), other.sendMany('shared', 1)])
    await Promise.all(opened.splice(0).map((c) => c.close()))
    await zeroState([a, b])
  })

  it('re-forwards X to another connection of the cluster when its remote receiver closes before answering', async () => {
    const [a, b] = [await clusterNode('a'), await clusterNode('b')]
    const [origin] = await acking(a, 1)
    const [quitter] = await holders(b, 1)
    let lost: string | undefined
    quitter.ws.on('message', (d) => {
      lost ??= d.toString().slice('message '.length)
      quitter.ws.close()
    })
    await clusterOf([a, b], 2)
    // the pick is random: send until one X lands on the quitter on b (p = 1/2 each)
    for (let i = 0; i < 40 && lost === undefined; i++) {
      origin.send(`message rf-${i}`)
      await Promise.race([origin.waitFor((f) => f === `ok rf-${i}`), quitter.closed])
    }
    expect(lost).toBeDefined()
    // b hands X back across the cluster to the only open connection, the origin, which acks it
    await origin.waitFor((f) => f === `message ${lost}`)
    await origin.waitFor((f) => f === `ok ${lost}`)
    await origin.close()
    await zeroState([a, b])
  })

  it('notices a member SIGKILLed while holding messages of other members\' origins, and re-forwards them: all acknowledged', async () => {
    const [a, b, c] = [await clusterNode('a'), await clusterNode('b'), await clusterNode('c')]
    const [originA] = await acking(a, 1)
    const [originC] = await acking(c, 1)
    const held = await holders(b, 4)
    await clusterOf([a, b, c], 6)
    // 4 of 6 connections never answer: most messages end up held on b
    const done = Promise.all([originA.sendMany('ka', 30, 45_000), originC.sendMany('kc', 30, 45_000)])
    await waitUntil(() => held.some((h) => handed(h, 'ka-').length > 0) && held.some((h) => handed(h, 'kc-').length > 0), 10_000, 'b holding messages of both origins')
    b.kill('SIGKILL')
    await b.exited
    await a.waitForOutput(/"event":"cluster_node_down","member":"b","reason":"no heartbeat for 3s"/)
    await c.waitForOutput(/"event":"cluster_node_down","member":"b","reason":"no heartbeat for 3s"/)
    await done
    await Promise.all(opened.splice(0).map((x) => x.close()))
    await zeroState([a, c])
  })

  it('serves local connections while NATS is down, re-forwards what was handed across, and rejoins when it is back', async () => {
    const [a, b] = [await clusterNode('a'), await clusterNode('b')]
    const [origin] = await acking(a, 1)
    const [stuck] = await holders(b, 1)
    await clusterOf([a, b], 2)
    const first = origin.sendMany('before', 20, 45_000)
    await waitUntil(() => handed(stuck, 'before-').length > 0, 10_000, 'a message held on b')

    await nats.kill('SIGKILL')
    await a.waitForOutput(/"event":"cluster_lost","cluster":"peerlink"/)
    await b.waitForOutput(/"event":"cluster_lost","cluster":"peerlink"/)
    // what b held for a's origin is re-forwarded among a's own connections
    await first
    expect((await stats(a)).cluster).toMatchObject({nodes: 1, connections: 1})
    // local delivery meanwhile, on both nodes
    await stuck.close()
    await origin.sendMany('during', 10)
    const [localOnB] = await acking(b, 1)
    await localOnB.sendMany('during-b', 10)
    expect(handed(stuck, 'during').length + handed(origin, 'during-b').length).toBe(0)

    await nats.restart()
    await clusterOf([a, b], 2)
    await a.waitForOutput(/"event":"cluster_joined"[^]*"event":"cluster_joined"/)
    // said once: one cluster_lost, however many reconnect attempts failed meanwhile
    expect(events(a.stdout()).filter((e) => e.event === 'cluster_lost')).toHaveLength(1)
    // cross-node delivery after: some of a's messages reach b's connection
    await origin.sendMany('after', 40)
    expect(handed(localOnB, 'after-').length).toBeGreaterThan(0)
    await Promise.all(opened.splice(0).map((x) => x.close()))
    await zeroState([a, b])
  })

  it('serves --workers 3 on one port as three members, restarts a killed worker and re-forwards what it held', async () => {
    const s = track(spawnCli(['start', 'w', '--port', '0', '--no-repl', '--no-auth', '--json', '--cluster', nats.url, '--workers', '3'], cliEnv()))
    // the complete lines so far (a pipe may hand over half a line)
    const lines = () => events(s.stdout().slice(0, s.stdout().lastIndexOf('\n') + 1))
    const listening = () => lines().filter((e) => e.event === 'listening')
    await waitUntil(() => listening().length === 3, 20_000, 'three workers listening')
    const port = Number(listening()[0].port)
    expect(new Set(listening().map((e) => e.port))).toEqual(new Set([port]))
    expect(new Set(listening().map((e) => e.node))).toEqual(new Set(['w-1', 'w-2', 'w-3']))
    const node = {port, url: `ws://127.0.0.1:${port}/ws`}
    await untilEveryView([node], (c) => c.nodes === 3, '3 workers in the cluster')

    // Which worker serves a connection: its welcome names it.
    const whoServes = async (c: TestClient) => {
      c.send('hello {}')
      return JSON.parse((await c.waitFor((f) => f.startsWith('welcome '))).slice(8)).name as string
    }
    const clients = await Promise.all(Array.from({length: 9}, () => new TestClient(node.url).open()))
    opened.push(...clients)
    const served = await Promise.all(clients.map(whoServes))
    const victim = served[0]
    const held = clients.filter((_, i) => served[i] === victim)
    const origins = clients.filter((_, i) => served[i] !== victim)
    expect(origins.length).toBeGreaterThan(0)
    for (const o of origins) {
      o.ws.on('message', (d) => {
        const f = d.toString()
        if (f.startsWith('message ')) o.send(`ok ${f.slice(8)}`)
      })
    }
    await untilEveryView([node], (c) => c.nodes === 3 && c.connections === 9, '9 connections over 3 workers')
    const texts = origins.flatMap((o, i) => Array.from({length: 10}, (_, j) => ({o, text: `wk${i}-${j}`})))
    for (const {o, text} of texts) o.send(`message ${text}`)
    await waitUntil(() => held.some((h) => handed(h, 'wk').length > 0), 10_000, `worker ${victim} holding a message`)

    const started = lines().find((e) => e.event === 'info' && e.topic === 'workers' && (e.data as {worker: string; state: string}).worker === victim)
    const pid = (started?.data as {pid: number} | undefined)?.pid ?? 0
    expect(pid).toBeGreaterThan(0)
    process.kill(pid, 'SIGKILL')
    // restarted: a second `listening` from the same worker name
    await waitUntil(() => listening().filter((e) => e.node === victim).length === 2, 20_000, `worker ${victim} restarted`)
    await Promise.all(texts.map(({o, text}) => o.waitFor((f) => f === `ok ${text}`, 30_000)))
    await Promise.all(opened.splice(0).map((c) => c.close()))
    await untilEveryView([node], (c) => c.nodes === 3 && c.connections === 0 && c.pending === 0, 'zero state over 3 workers')

    // SIGTERM drains every worker; one stream of NDJSON lines on stdout
    s.kill('SIGTERM')
    expect(await s.exited).toBe(0)
    expect(lines().filter((e) => e.event === 'stopped').map((e) => e.node).sort()).toEqual(['w-1', 'w-2', 'w-3'])
  })

  it('keeps peer links out of the cluster: a clustered node\'s 1 <message> reaches its peer, which is no relay connection', async () => {
    const b = await clusterNode('b')
    const out = await runCli(['start', 'a', '--port', '0', '--no-auth', '--grace', '0', '--peer', b.url, '--cluster', nats.url, '--json'], {input: '1 via-peer\n'})
    expect(out.code).toBe(0)
    expect(events(out.stdout).some((e) => e.event === 'message_acked' && e.text === 'via-peer')).toBe(true)
    await b.waitForOutput(/"event":"message_received","from":"a","text":"via-peer"/)
    expect(b.stdout()).not.toMatch(/"event":"message_relayed"/)
    await zeroState([b])
  })

  it('refuses --workers without --cluster, and a cluster URL that is not nats://, with one line and exit 2', async () => {
    const noCluster = await runCli(['start', 'x', '--port', '0', '--no-repl', '--workers', '2'])
    expect(noCluster.code).toBe(2)
    expect(noCluster.stderr.trim().split('\n')).toHaveLength(1)
    expect(noCluster.stderr).toMatch(/--workers needs --cluster/)
    const badUrl = await runCli(['start', 'x', '--port', '0', '--no-repl', '--cluster', 'http://127.0.0.1:4222'])
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr.trim().split('\n')).toHaveLength(1)
    expect(badUrl.stderr).toMatch(/nats:\/\//)
  })

  it('without --cluster a node shows no cluster in /stats and never dials NATS', async () => {
    const plain = track(await startNode(['plain', '--port', '0', '--no-repl', '--no-auth'], cliEnv()))
    expect((await stats(plain)).cluster).toBeUndefined()
    expect(plain.stdout()).not.toMatch(/cluster/)
  })
})

import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {cliEnv, spawnCli, startNode, trackProcesses} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'
import {parsePrometheus, sampleValue, type Family} from '../helpers/prom.js'
import {AckingClient} from '../helpers/relay.js'
import {openClients, TestClient, waitUntil} from '../helpers/ws.js'
import {YOUNG_SEMI_SPACE_MIB} from '../../src/cli/heap.js'

const token = randomBytes(16).toString('hex')
const env = cliEnv({PEERLINK_TOKEN: token})
const track = trackProcesses()

/** GET /metrics with the token, parsed strictly. */
async function scrape(port: number): Promise<Map<string, Family>> {
  const answer = await call(port, 'GET', '/metrics', {headers: bearer(token)})
  expect(answer.status).toBe(200)
  expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parsePrometheus(answer.body.toString())
}

/**
 * Events of one kind in a text-mode node's output: lines of their own
 * (`line`), and the numbers its folded summary lines give (`summary`, global,
 * the number its first group).
 */
function accountedIn(out: string, line: RegExp, summary: RegExp): {shown: number; folded: number} {
  const shown = out.split('\n').filter((l) => line.test(l)).length
  const folded = [...out.matchAll(summary)].reduce((n, m) => n + Number(m[1]), 0)
  return {shown, folded}
}
const all = ({shown, folded}: {shown: number; folded: number}) => shown + folded

const ISSUE_METRICS: Array<[string, Family['type']]> = [
  ['peerlink_connections', 'gauge'],
  ['peerlink_peers_up', 'gauge'],
  ['peerlink_relay_pending', 'gauge'],
  ['peerlink_outbox', 'gauge'],
  ['peerlink_clients', 'gauge'],
  ['peerlink_messages_relayed_total', 'counter'],
  ['peerlink_messages_received_total', 'counter'],
  ['peerlink_messages_sent_total', 'counter'],
  ['peerlink_messages_acked_total', 'counter'],
  ['peerlink_messages_failed_total', 'counter'],
  ['peerlink_ack_latency_seconds', 'histogram'],
  ['peerlink_received_bytes_total', 'counter'],
  ['peerlink_sent_bytes_total', 'counter'],
  ['peerlink_errors_total', 'counter'],
  // the default process metrics
  ['process_cpu_seconds_total', 'counter'],
  ['process_resident_memory_bytes', 'gauge'],
  ['nodejs_eventloop_lag_seconds', 'gauge'],
  ['nodejs_heap_size_used_bytes', 'gauge'],
]

describe('GET /metrics', () => {
  it('needs the token like every route but /healthz, unless --metrics-public', async () => {
    const closed = track(await startNode(['closed', '--port', '0', '--no-repl'], env))
    expect((await call(closed.port, 'GET', '/metrics')).status).toBe(401)
    expect((await call(closed.port, 'GET', '/metrics', {headers: bearer('wrong')})).status).toBe(401)

    const open = track(await startNode(['open', '--port', '0', '--no-repl', '--metrics-public'], env))
    const answer = await call(open.port, 'GET', '/metrics')
    expect(answer.status).toBe(200)
    expect(sampleValue(parsePrometheus(answer.body.toString()), 'peerlink_node_info', {name: 'open'})).toBe(1)
    // only /metrics became public
    expect((await call(open.port, 'GET', '/stats')).status).toBe(401)
    expect((await call(open.port, 'GET', '/clients')).status).toBe(401)
  })

  it('keeps the young generation at 4 MiB per semi-space while connections open by the hundred', async () => {
    // src/cli/heap.ts caps it (test/e2e/heap.test.ts shows V8 growing it without the cap); this is the node applying it
    const n = track(await startNode(['relay', '--port', '0', '--no-repl', '--ephemeral'], env))
    const clients = await openClients(n.url, 600, {headers: bearer(token)})
    await Promise.all(clients.map((c) => c.close()))
    const young = sampleValue(await scrape(n.port), 'nodejs_heap_space_size_total_bytes', {space: 'new'})
    expect(young).toBeGreaterThan(0)
    // the cap, or one doubling past it on a busy machine (see capYoungGeneration); V8's own maximum is twice that again
    expect(young).toBeLessThanOrEqual(2 * 2 * YOUNG_SEMI_SPACE_MIB * 2 ** 20)
  })

  it('has every metric of the issue and the process metrics, and the counters move with traffic', async () => {
    // not the presets A and B: a B without --peer would dial the preset's port 8080
    const b = track(await startNode(['sink', '--port', '0', '--no-repl'], env))
    const a = track(await startNode(['source', '--port', '0', '--peer', b.url, '--grace', '0'], env))
    await a.waitForOutput(/"event":"peer_connected","peer":"sink"/)

    const before = await scrape(a.port)
    for (const [name, type] of ISSUE_METRICS) {
      expect(before.get(name), name).toMatchObject({type, help: expect.any(String)})
    }
    for (const name of ['relayed', 'received', 'sent', 'acked', 'failed']) expect(sampleValue(before, `peerlink_messages_${name}_total`)).toBe(0)
    expect(sampleValue(before, 'peerlink_ack_latency_seconds_count')).toBe(0)
    expect(sampleValue(before, 'peerlink_peers_up')).toBe(1)
    expect(sampleValue(before, 'peerlink_errors_total', {kind: 'bad_frame'})).toBe(0)

    // A's own messages to B, acknowledged
    for (let i = 0; i < 3; i++) a.proc.stdin.write(`1 counted-${i}\n`)
    for (let i = 0; i < 3; i++) await a.waitForOutput(new RegExp(`"event":"message_acked","text":"counted-${i}"`))
    // relay traffic through A, and one bad frame
    const clients = await Promise.all([0, 1].map(() => new AckingClient(a.url, {headers: bearer(token)}).open()))
    await clients[0].sendMany('relay', 10)
    const rude = await new TestClient(a.url, {headers: bearer(token)}).open()
    rude.send('shout')
    await rude.waitFor((f) => f.startsWith('error '))

    const after = await scrape(a.port)
    expect(sampleValue(after, 'peerlink_messages_sent_total')).toBe(3)
    expect(sampleValue(after, 'peerlink_messages_acked_total')).toBe(3)
    expect(sampleValue(after, 'peerlink_messages_failed_total')).toBe(0)
    expect(sampleValue(after, 'peerlink_messages_relayed_total')).toBe(10)
    expect(sampleValue(after, 'peerlink_ack_latency_seconds_count')).toBe(3)
    expect(sampleValue(after, 'peerlink_ack_latency_seconds_sum')).toBeGreaterThanOrEqual(0)
    expect(sampleValue(after, 'peerlink_ack_latency_seconds_bucket', {le: '+Inf'})).toBe(3)
    expect(sampleValue(after, 'peerlink_connections')).toBe(3)
    expect(sampleValue(after, 'peerlink_clients')).toBe(3)
    expect(sampleValue(after, 'peerlink_outbox')).toBe(0)
    expect(sampleValue(after, 'peerlink_relay_pending')).toBe(0)
    expect(sampleValue(after, 'peerlink_errors_total', {kind: 'bad_frame'})).toBe(1)
    expect(sampleValue(after, 'peerlink_received_bytes_total')).toBeGreaterThan(sampleValue(before, 'peerlink_received_bytes_total'))
    expect(sampleValue(after, 'peerlink_sent_bytes_total')).toBeGreaterThan(sampleValue(before, 'peerlink_sent_bytes_total'))
    expect(sampleValue(after, 'process_cpu_seconds_total')).toBeGreaterThan(0)

    // the receiving side counts what it was delivered
    const atB = await scrape(b.port)
    expect(sampleValue(atB, 'peerlink_messages_received_total')).toBe(3)
    expect(sampleValue(atB, 'peerlink_connections')).toBe(1)

    await Promise.all([...clients, rude].map((c) => c.close()))
    // gauges follow the node: once it has seen the clients go, a scrape says so
    await a.waitForOutput(/("event":"client_disconnected".*\n.*){3}/)
    const closed = await scrape(a.port)
    expect(sampleValue(closed, 'peerlink_connections')).toBe(0)
    expect(sampleValue(closed, 'peerlink_messages_relayed_total')).toBe(10)
    // the bytes of closed connections stay in the sums: the answer to the
    // last scrape (its connection closed since, or is the one reused) is in
    // the next one, and so are a new client's bytes
    const lastAnswer = (await call(a.port, 'GET', '/metrics', {headers: bearer(token)})).body.length
    const late = await new AckingClient(a.url, {headers: bearer(token)}).open()
    await late.sendMany('late', 1)
    const later = await scrape(a.port)
    const grew = (name: string) => sampleValue(later, name) - sampleValue(closed, name)
    expect(grew('peerlink_sent_bytes_total')).toBeGreaterThan(lastAnswer)
    expect(grew('peerlink_received_bytes_total')).toBeGreaterThan(0)
    await late.close()
  })

  it('accounts in text mode for every client that connects and disconnects, as a line or in a folded count; GET /clients still has every address', async () => {
    const node = track(spawnCli(['start', 'quiet', '--port', '0', '--no-repl'], env))
    const [, url, port] = await node.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:(\d+)\/ws)/)
    const N = 300
    const clients = await openClients(url, N, {headers: bearer(token)})
    // the node reports only a sampled few connections to the text output, and reads the others' addresses when asked
    const listed = await call(Number(port), 'GET', '/clients', {headers: bearer(token)})
    expect(listed.status).toBe(200)
    const live = Object.values(JSON.parse(listed.body.toString()) as Record<string, {ip: string; port: number; name: string}>)
    expect(live).toHaveLength(N)
    for (const c of live) {
      expect(c.ip).toBe('127.0.0.1')
      expect(c.port).toBeGreaterThan(0)
      expect(c.name).toBe(`127.0.0.1:${c.port}`)
    }
    await Promise.all(clients.map((c) => c.close()))
    const connected = () => accountedIn(node.stdout(), / client 127\.0\.0\.1:\d+ connected/, /(\d+) clients connected/g)
    const disconnected = () => accountedIn(node.stdout(), / client 127\.0\.0\.1:\d+ disconnected/, /(\d+) disconnected \(/g)
    await waitUntil(() => all(connected()) >= N && all(disconnected()) >= N, 20_000, 'every connection and disconnection in the output')
    expect(all(connected())).toBe(N)
    expect(all(disconnected())).toBe(N)
    expect(connected().folded).toBeGreaterThan(0)
    expect(disconnected().folded).toBeGreaterThan(0)
  })

  it('counts every relayed message in text mode, where the relay reports only the few the output shows, and the output folds the rest', async () => {
    const node = track(spawnCli(['start', 'quiet', '--port', '0', '--no-repl'], env))
    const [, url, port] = await node.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:(\d+)\/ws)/)
    const clients = await Promise.all([0, 1].map(() => new AckingClient(url, {headers: bearer(token)}).open()))
    await Promise.all([clients[0].sendMany('fast-a', 150), clients[1].sendMany('fast-b', 150)])
    expect(sampleValue(await scrape(Number(port)), 'peerlink_messages_relayed_total')).toBe(300)
    // every message is in the output once: a line of its own, or in a folded count
    const relayed = () => accountedIn(node.stdout(), / relayed "fast-/, /relayed (\d+) messages/g)
    await waitUntil(() => all(relayed()) >= 300, 20_000, 'every relayed message in the output')
    expect(all(relayed())).toBe(300)
    expect(relayed().folded).toBeGreaterThan(0)
    await Promise.all(clients.map((c) => c.close()))
  })
})

import {describe, expect, it} from 'vitest'
import {cliEnv, freePort, runCli, spawnCli, startNode, trackProcesses} from '../helpers/cli.js'

const TOKEN = 't0k'
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})

describe('peerlink load', () => {
  const track = trackProcesses()

  for (const ackDelay of ['0', '0..200ms']) {
    it(`acknowledges 1000 clients over a 5 s ramp at ack delay ${ackDelay} and leaves the node in zero state`, async () => {
      const n = await startNode(['relay', '--port', '0', '--no-repl'], env())
      track(n)
      const r = await runCli(['load', n.url, '--clients', '1000', '--ramp', '5s', '--ack-delay', ackDelay, '--workers', '2', '--json'], {env: env(), timeoutMs: 55_000})
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({clients: 1000, acked: 1000, failed: 0, zero_state: true, ok: true, problems: []})
      expect(report.target_stats).toMatchObject({connections: 0, pending: 0})
      expect(report.latency_ms.p99).toBeGreaterThanOrEqual(report.latency_ms.p50)
      expect(report.peak_connections).toBeGreaterThan(0)
      // the generator reports on itself
      expect(report.generator.cpu_ms).toBeGreaterThan(0)
      expect(report.workers).toBe(2)
      expect(report.workers_reason).toBeNull()
    })
  }

  it('spreads the clients over two targets, and both reach zero state', async () => {
    const a = track(await startNode(['a', '--port', '0', '--no-repl'], env()))
    const b = track(await startNode(['b', '--port', '0', '--no-repl'], env()))
    const r = await runCli(['load', a.url, b.url, '--clients', '600', '--ramp', '2s', '--workers', '2', '--json'], {env: env(), timeoutMs: 55_000})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({url: a.url, urls: [a.url, b.url], clients: 600, acked: 600, failed: 0, zero_state: true, ok: true})
    expect(report.targets).toHaveLength(2)
    for (const [i, t] of report.targets.entries()) {
      expect(t.url).toBe([a.url, b.url][i])
      // each client on one target, spread evenly
      expect(t.clients).toBe(300)
      expect(t.acked).toBe(300)
      expect(t).toMatchObject({failed: 0, zero_state: true, stats: {connections: 0, pending: 0}})
    }
    expect(report.target_stats).toMatchObject({name: 'a', connections: 0, pending: 0})
    expect(report.targets[1].stats.name).toBe('b')
    // both nodes really served clients
    for (const n of [a, b]) expect(n.stdout()).toMatch(/"event":"client_connected"/)
  })

  it('exits 1 and says why when the node is killed midway', async () => {
    const n = await startNode(['relay', '--port', '0', '--no-repl'], env())
    track(n)
    const load = spawnCli(['load', n.url, '--clients', '2000', '--ramp', '6s', '--retries', '2', '--ack-timeout', '1s'], env())
    // kill the node once the first clients are done
    await n.waitForOutput(/"event":"client_disconnected"/)
    n.kill()
    const code = await load.exited
    expect(code).toBe(1)
    expect(load.stdout()).toMatch(/result\s+FAIL/)
    const lines = load.stderr().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^error: \d+ of 2000 clients not acknowledged \(most often: .+\); cannot read the node's \/stats afterwards/)
  })

  it('refuses to start when the node cannot be reached', async () => {
    const port = await freePort()
    const r = await runCli(['load', `ws://127.0.0.1:${port}/ws`, '--clients', '10'], {env: env()})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: cannot start the load test: [^\n]*connection refused[^\n]*\n$/)
  })

  it('rejects flags that need --cluster without it, and a bad URL among several, with exit 2', async () => {
    const agents = await runCli(['load', 'ws://127.0.0.1:1/ws', '--agents', '2'], {env: env()})
    expect(agents.code).toBe(2)
    expect(agents.stderr).toBe('error: --agents needs --cluster (the NATS the agents wait on)\n')
    const noLocal = await runCli(['load', 'ws://127.0.0.1:1/ws', '--no-local'], {env: env()})
    expect(noLocal.code).toBe(2)
    expect(noLocal.stderr).toMatch(/^error: --no-local needs --cluster/)
    const second = await runCli(['load', 'ws://127.0.0.1:1/ws', 'ftp://x'], {env: env()})
    expect(second.code).toBe(2)
    expect(second.stderr).toMatch(/^error: URL: invalid URL "ftp:\/\/x": must start with http:\/\/, https:\/\/, ws:\/\/ or wss:\/\/\n$/)
    const range = await runCli(['load', 'ws://127.0.0.1:1/ws', '--source-addresses', '127.0.0.9-127.0.0.1'], {env: env()})
    expect(range.code).toBe(2)
    expect(range.stderr).toMatch(/^error: --source-addresses: invalid address range/)
  })

  it('shows several URLs in its usage', async () => {
    const r = await runCli(['load', '--help'], {env: env()})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/load URL\.\.\. \[FLAGS\]/)
  })

  it('rejects a bad ack-delay range with exit 2', async () => {
    const r = await runCli(['load', 'ws://127.0.0.1:1/ws', '--ack-delay', '5s..1s'], {env: env()})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: --ack-delay: invalid range/)
  })
})

import {describe, expect, it} from 'vitest'
import {cliEnv, freePort, runCli, spawnCli, startNode, trackProcesses} from '../helpers/cli.js'

const TOKEN = 't0k'
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})

describe('peerlink load', () => {
  const track = trackProcesses()

  for (const ackDelay of ['0', '0..200ms']) {
    it(`acknowledges 2000 clients over a 5 s ramp at ack delay ${ackDelay} and leaves the node in zero state`, async () => {
      const n = await startNode(['relay', '--port', '0', '--no-repl'], env())
      track(n)
      const r = await runCli(['load', n.url, '--clients', '2000', '--ramp', '5s', '--ack-delay', ackDelay, '--workers', '2', '--json'], {env: env(), timeoutMs: 55_000})
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({clients: 2000, acked: 2000, failed: 0, zero_state: true, ok: true, problems: []})
      expect(report.target_stats).toMatchObject({connections: 0, pending: 0})
      expect(report.latency_ms.p99).toBeGreaterThanOrEqual(report.latency_ms.p50)
      expect(report.peak_connections).toBeGreaterThan(0)
    })
  }

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

  it('rejects a bad ack-delay range with exit 2', async () => {
    const r = await runCli(['load', 'ws://127.0.0.1:1/ws', '--ack-delay', '5s..1s'], {env: env()})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: --ack-delay: invalid range/)
  })
})

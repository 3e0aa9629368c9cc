import {describe, expect, it} from 'vitest'
import {cliEnv, events, runCli, spawnCli, startNode, trackProcesses, type Spawned} from '../helpers/cli.js'
import {trackNats} from '../helpers/nats.js'

const TOKEN = 't0k'
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})

/** Starts `peerlink load-agent` on `nats` with --json and waits until it says it is waiting. */
async function startAgent(nats: string, name: string, sources: string, extra: string[] = []): Promise<Spawned> {
  const a = spawnCli(['load-agent', '--cluster', nats, '--name', name, '--source-addresses', sources, '--workers', '1', '--json', ...extra], env())
  await a.waitForOutput(/"event":"agent_ready"/, 20_000)
  return a
}

describe('peerlink load with load-agents on NATS', () => {
  const track = trackProcesses()
  const nats = trackNats()

  it('two agents and the local runner share one run and one summary, each from its own source addresses; an agent of another --cluster-name stays out', async () => {
    const server = await nats()
    const a1 = track(await startAgent(server.url, 'a1', '127.0.1.1-127.0.1.20'))
    const a2 = track(await startAgent(server.url, 'a2', '127.0.2.1-127.0.2.20'))
    // an agent of another cluster on the same NATS is not asked
    const blue = track(await startAgent(server.url, 'blue', '127.0.4.1-127.0.4.10', ['--cluster-name', 'blue']))
    const node = track(await startNode(['relay', '--port', '0', '--no-repl'], env()))
    const r = await runCli(['load', node.url, '--clients', '900', '--ramp', '2s', '--cluster', server.url, '--agents', '2', '--workers', '1', '--json'], {env: env(), timeoutMs: 55_000})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({clients: 900, acked: 900, failed: 0, zero_state: true, ok: true, local_clients: 300})
    expect(report.agents.map((a: {name: string}) => a.name).sort()).toEqual(['a1', 'a2'])
    for (const a of report.agents) expect(a).toMatchObject({clients: 300, workers: 1, acked: 300, failed: 0, lost: null})
    // one summary: this machine's worker and each agent's
    expect(report.workers).toBe(3)
    expect(report.latency_ms.p50).not.toBeNull()
    expect(report.target_stats).toMatchObject({connections: 0, pending: 0})
    // the node saw clients from the three source ranges
    const ips = new Set(events(node.stdout()).filter((e) => e.event === 'client_connected').map((e) => String(e.ip).replace(/^::ffff:/, '').split('.').slice(0, 3).join('.')))
    expect(ips).toEqual(new Set(['127.0.0', '127.0.1', '127.0.2']))
    // each agent ran its share and handed the result over
    for (const a of [a1, a2]) {
      await a.waitForOutput(/"event":"run_finished"[^\n]*"acked":300,"failed":0,"delivered":true/)
      expect(events(a.stdout()).map((e) => e.event)).toEqual(['agent_ready', 'run_prepared', 'run_started', 'run_finished'])
    }
    expect(events(blue.stdout()).map((e) => e.event)).toEqual(['agent_ready'])
  })

  it('fails clearly, naming the agent, when an agent disappears mid-run (all clients on agents: --no-local)', async () => {
    const server = await nats()
    const gone = track(await startAgent(server.url, 'gone', '127.0.3.1-127.0.3.20'))
    const node = track(await startNode(['relay', '--port', '0', '--no-repl'], env()))
    const load = track(spawnCli(['load', node.url, '--clients', '1000', '--ramp', '5s', '--cluster', server.url, '--agents', '1', '--no-local'], env()))
    await gone.waitForOutput(/"event":"run_started"/)
    gone.kill('SIGKILL')
    const code = await load.exited
    expect(code).toBe(1)
    expect(load.stdout()).toMatch(/^agent +gone \([^)]*\): 1000 clients over 1 worker, \d+ acked, \d+ failed, disappeared mid-run: no word for 3s$/m)
    expect(load.stdout()).toMatch(/result\s+FAIL/)
    const lines = load.stderr().trim().split('\n')
    expect(lines.at(-1)).toMatch(/^error: \d+ of 1000 clients not acknowledged \(most often: disappeared mid-run: no word for 3s, \d+×\); agent gone: disappeared mid-run: no word for 3s \(\d+ of its 1000 clients unaccounted for\)(; saturated: [^\n]+)?$/)
  })

  it('refuses to start, in one line, when fewer agents answer than asked for, or NATS cannot be reached', async () => {
    const server = await nats()
    const node = track(await startNode(['relay', '--port', '0', '--no-repl'], env()))
    const few = await runCli(['load', node.url, '--clients', '10', '--cluster', server.url, '--agents', '1', '--no-local'], {env: env()})
    expect(few.code).toBe(1)
    expect(few.stderr).toBe(`error: cannot start the load test: asked for 1 agent on ${server.url} (cluster peerlink), 0 idle answered\n`)
    await server.kill()
    const down = await runCli(['load', node.url, '--clients', '10', '--cluster', server.url], {env: env()})
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(new RegExp(`^error: cannot reach NATS at ${server.url}: [^\\n]+\\n$`))
    const agent = await runCli(['load-agent', '--cluster', server.url], {env: env()})
    expect(agent.code).toBe(1)
    expect(agent.stderr).toMatch(/^error: cannot reach NATS at /)
    const noCluster = await runCli(['load-agent'], {env: cliEnv({PEERLINK_TOKEN: TOKEN})})
    expect(noCluster.code).toBe(2)
    expect(noCluster.stderr).toMatch(/^error: --cluster is required/)
  })
})

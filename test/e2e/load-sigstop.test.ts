import {describe, expect, it} from 'vitest'
import {cliEnv, spawnCli, startNode, trackProcesses, type Spawned} from '../helpers/cli.js'

const TOKEN = 't0k'
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})
const CLIENTS = 1200
/** The scenario of the issue: the node stops answering for 10 s, then comes back. The length of the fault, not a timing. */
const STOPPED_MS = 10_000

/** Resolves once `needle` occurs `n` times in the process's stdout. */
async function waitForCount(s: Spawned, needle: string, n: number): Promise<void> {
  while (s.stdout().split(needle).length - 1 < n) await new Promise((resolve) => s.proc.stdout.once('data', resolve))
}

describe('peerlink load against a node that stops answering', () => {
  const track = trackProcesses()

  it('holds back instead of storming: a node SIGSTOPped for 10 s, then resumed, gets every client acknowledged with retries within a small multiple of the clients affected', async () => {
    const node = track(await startNode(['relay', '--port', '0', '--no-repl'], env()))
    // ack delays of up to 2 s keep ~100 clients open at any moment; the ramp goes on through the stop
    const load = track(spawnCli(['load', node.url, '--clients', String(CLIENTS), '--ramp', '15s', '--ack-delay', '0..2s', '--workers', '2', '--json'], env()))
    // stop the node once the run is well under way: 100 clients done
    await waitForCount(node, '"event":"client_disconnected"', 100)
    node.proc.kill('SIGSTOP')
    try {
      await new Promise((resolve) => setTimeout(resolve, STOPPED_MS))
    } finally {
      node.proc.kill('SIGCONT')
    }
    const code = await load.exited
    const report = JSON.parse(load.stdout())
    expect(load.stderr()).toBe('')
    // every client acknowledged after the node came back, the node in zero state
    expect(report).toMatchObject({clients: CLIENTS, acked: CLIENTS, failed: 0, zero_state: true, ok: true})
    expect(code).toBe(0)
    // the stop did hit clients: those waiting for their ok timed out and retried...
    expect(report.clients_retried).toBeGreaterThan(0)
    expect(report.retry_reasons['no ok within 5s']).toBeGreaterThan(0)
    // ...a few times each at most, not a storm
    expect(report.retries).toBeLessThanOrEqual(3 * report.clients_retried)
    // because their retries were held while the node was visibly saturated, and said so
    expect(report.retries_held).toBeGreaterThan(0)
    // (the generator may be named too, on a machine busy with other work)
    expect(report.saturated).toContain(node.url)
    expect(report.notes).toContain(`${report.retries_held} retries held back while their target was saturated`)
  })
})

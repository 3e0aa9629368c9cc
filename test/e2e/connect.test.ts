import {describe, expect, it} from 'vitest'
import {cliEnv, events, freePort, spawnCli, startNode, trackProcesses} from '../helpers/cli.js'

const TOKEN = 't0k'
const env = () => cliEnv({PEERLINK_TOKEN: TOKEN})

describe('peerlink connect', () => {
  const track = trackProcesses()

  it('through pipes: one client sends, the other shows and acknowledges, both exit 0', async () => {
    const node = await startNode(['relay', '--port', '0', '--no-repl'], env())
    track(node)
    const receiver = spawnCli(['connect', node.url, '--name', 'rx', '--json'], env())
    track(receiver)
    await receiver.waitForOutput(/"event":"peer_connected"/)

    // The relay picks uniformly among open connections, the sender included:
    // with 20 messages the receiver gets none only with probability 2^-20.
    const texts = Array.from({length: 20}, (_, i) => `hi ${i}`)
    const sender = spawnCli(['connect', node.url, '--name', 'tx', '--json'], env())
    track(sender)
    sender.proc.stdin.end(texts.map((t) => `1 ${t}\n`).join(''))
    expect(await sender.exited).toBe(0)
    const acked = events(sender.stdout()).filter((e) => e.event === 'message_acked').map((e) => e.text)
    expect(acked.sort()).toEqual([...texts].sort())

    receiver.proc.stdin.end()
    expect(await receiver.exited).toBe(0)
    const got = events(receiver.stdout()).filter((e) => e.event === 'message_received')
    expect(got.length).toBeGreaterThan(0)
    for (const e of got) expect(texts).toContain(e.text)
  })

  it('prints its client id and the system-time URL for it, and that URL answers with its clock', async () => {
    const node = await startNode(['relay', '--port', '0', '--no-repl'], env())
    track(node)
    const client = spawnCli(['connect', node.url, '--name', 'clocky'], env())
    track(client)
    const [, id, hostPort] = await client.waitForOutput(/^Client id ([0-9a-f-]{36}) is running, looking for a server at (127\.0\.0\.1:\d+)$/m)
    expect(hostPort).toBe(`127.0.0.1:${node.port}`)
    const [, url] = await client.waitForOutput(/^A GET request to (http:\/\/\S+\/system-time) will result in reporting this client's system time$/m)
    expect(url).toBe(`http://127.0.0.1:${node.port}/clients/${id}/system-time`)
    const before = Date.now()
    const res = await fetch(url, {headers: {authorization: `Bearer ${TOKEN}`}})
    expect(res.status).toBe(200)
    const body = (await res.json()) as {error: boolean; msg: string; ts: string}
    expect(body).toMatchObject({error: false, msg: ''})
    expect(body.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(Math.abs(Date.parse(body.ts) - before)).toBeLessThan(60_000) // same machine, same clock
    client.proc.stdin.end()
    expect(await client.exited).toBe(0)
  })

  it('survives the node restarting: reconnects and resends what is unacknowledged', async () => {
    const port = await freePort()
    const first = await startNode(['relay', '--port', String(port), '--no-repl'], env())
    track(first)
    const client = spawnCli(['connect', first.url, '--ack-timeout', '1s'], env())
    track(client)
    await client.waitForOutput(/linked to peer relay/)
    first.kill()
    await first.exited
    await client.waitForOutput(/not connected/)

    client.proc.stdin.write('1 while down\n')
    await client.waitForOutput(/queued/)
    const second = await startNode(['relay', '--port', String(port), '--no-repl'], env())
    track(second)
    await client.waitForOutput(/acknowledged: while down/)
    client.proc.stdin.end()
    expect(await client.exited).toBe(0)
  })

  it('at end of input exits 1 when its message could not be acknowledged in time', async () => {
    const port = await freePort()
    const r = spawnCli(['connect', `ws://127.0.0.1:${port}/ws`, '--drain-timeout', '500ms'], env())
    track(r)
    r.proc.stdin.end('1 nobody there\n')
    expect(await r.exited).toBe(1)
    expect(r.stdout()).toMatch(/not acknowledged by [^\n]*: nobody there/)
  })

  it('answers REPL lines it cannot run with a one-line error and goes on', async () => {
    const node = await startNode(['relay', '--port', '0', '--no-repl'], env())
    track(node)
    const r = spawnCli(['connect', node.url, '--json'], env())
    track(r)
    r.proc.stdin.end('time x\nstats\n')
    expect(await r.exited).toBe(0)
    const evs = events(r.stdout())
    expect(evs.find((e) => e.event === 'error')?.msg).toMatch(/not available in connect/)
    expect(evs.find((e) => e.event === 'info' && e.topic === 'stats')).toBeDefined()
  })
})

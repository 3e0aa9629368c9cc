import {describe, expect, it} from 'vitest'
import {cliEnv, events, freePort, runCli, startNode, trackProcesses, type Spawned} from '../helpers/cli.js'

// one user on one machine: every node of this file shares a config folder, so they share its token file
const env = cliEnv()
const track = trackProcesses()

const url = (port: number) => `ws://127.0.0.1:${port}/ws`

describe('two linked nodes', () => {
  it('exchange "1 <message>" both ways through stdin pipes, with --json events', async () => {
    const [portA, portB] = [await freePort(), await freePort()]
    const a = track(await startNode(['A', '--port', String(portA), '--peer', url(portB), '--grace', '0'], env))
    const b = track(await startNode(['B', '--port', String(portB), '--peer', url(portA), '--grace', '0'], env))
    await a.waitForOutput(/"event":"peer_connected","peer":"B"/)
    await b.waitForOutput(/"event":"peer_connected","peer":"A"/)

    a.proc.stdin.write('1 hello from A\n')
    b.proc.stdin.write('1 hello from B\n')
    await a.waitForOutput(/"event":"message_acked","text":"hello from A","to":"B"/)
    await b.waitForOutput(/"event":"message_acked","text":"hello from B","to":"A"/)
    await a.waitForOutput(/"event":"message_received","from":"B","text":"hello from B"/)
    await b.waitForOutput(/"event":"message_received","from":"A","text":"hello from A"/)

    a.proc.stdin.end()
    b.proc.stdin.end()
    expect(await a.exited).toBe(0)
    expect(await b.exited).toBe(0)
    // only JSON on stdout, each with ts, node and event; the message shown only at the receiver
    for (const [s, name] of [[a, 'A'], [b, 'B']] as const) {
      const evs = events(s.stdout())
      expect(evs.length).toBeGreaterThan(3)
      for (const ev of evs) expect(ev).toMatchObject({node: name, ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/)})
      expect(evs.at(-1)).toMatchObject({event: 'stopped', code: 0})
    }
    const received = (s: Spawned) => events(s.stdout()).filter((e) => e.event === 'message_received').map((e) => e.text)
    expect(received(a)).toEqual(['hello from B'])
    expect(received(b)).toEqual(['hello from A'])
  })

  it('queues lines typed before the link is up and delivers them once the peer appears', async () => {
    const [portA, portB] = [await freePort(), await freePort()]
    const a = track(await startNode(['A', '--port', String(portA), '--peer', url(portB), '--grace', '0'], env))
    a.proc.stdin.write('1 early bird\n')
    await a.waitForOutput(/"event":"peer_disconnected"/)
    const b = track(await startNode(['B', '--port', String(portB), '--no-repl', '--grace', '0'], env))
    await b.waitForOutput(/"event":"message_received","from":"A","text":"early bird"/)
    await a.waitForOutput(/"event":"message_acked","text":"early bird"/)
  })

  it('loses no message when the peer is killed and restarted: every message sent at A is acknowledged', async () => {
    const [portA, portB] = [await freePort(), await freePort()]
    const a = track(await startNode(['A', '--port', String(portA), '--peer', url(portB), '--grace', '0', '--ack-timeout', '1s'], env))
    let b = track(await startNode(['B', '--port', String(portB), '--no-repl', '--grace', '0', '--ack-delay', '300ms'], env))
    await a.waitForOutput(/"event":"peer_connected"/)
    for (let i = 0; i < 5; i++) a.proc.stdin.write(`1 before-${i}\n`)
    await a.waitForOutput(/"event":"message_sent","text":"before-4"/)
    // killed while the acks are still owed (ack delay 300ms)
    b.kill('SIGKILL')
    await b.exited
    for (let i = 0; i < 5; i++) a.proc.stdin.write(`1 during-${i}\n`)
    await a.waitForOutput(/"event":"peer_disconnected"/)
    b = track(await startNode(['B', '--port', String(portB), '--no-repl', '--grace', '0'], env))
    a.proc.stdin.end()
    expect(await a.exited).toBe(0)
    const acked = new Set(events(a.stdout()).filter((e) => e.event === 'message_acked').map((e) => e.text))
    for (let i = 0; i < 5; i++) {
      expect(acked).toContain(`before-${i}`)
      expect(acked).toContain(`during-${i}`)
    }
    expect(events(a.stdout()).filter((e) => e.event === 'message_failed')).toEqual([])
  })
})

describe('at-least-once delivery', () => {
  it('acknowledges a resend at once when the ack delay outlasts the sender\'s timeout, and shows it once', async () => {
    // B waits 3 s before answering; A gives up on an answer after 1 s and resends
    const b = track(await startNode(['B', '--port', '0', '--no-repl', '--ack-delay', '3s'], env))
    const r = await runCli(['start', 'A', '--port', '0', '--peer', b.url, '--grace', '0', '--ack-timeout', '1s', '--json'], {input: '1 slowpoke\n', env})
    expect(r.code).toBe(0)
    const sent = events(r.stdout).filter((e) => e.event === 'message_sent')
    expect(sent.map((e) => e.attempt)).toEqual([1, 2])
    expect(events(r.stdout)).toContainEqual(expect.objectContaining({event: 'message_acked', text: 'slowpoke', to: 'B'}))
    await b.waitForOutput(/"event":"message_received","from":"A","text":"slowpoke","repeat":true/)
    const received = events(b.stdout()).filter((e) => e.event === 'message_received')
    expect(received.map((e) => e.repeat ?? false)).toEqual([false, true])
  })
})

describe('draining at end of input', () => {
  it('exits 0 once the message is acknowledged', async () => {
    const peer = track(await startNode(['B', '--port', '0', '--no-repl'], env))
    const r = await runCli(['start', 'A', '--port', '0', '--peer', peer.url, '--grace', '0', '--json'], {input: '1 hi\n', env})
    expect(r.code).toBe(0)
    expect(events(r.stdout).map((e) => e.event)).toEqual(expect.arrayContaining(['message_acked', 'stopped']))
    await peer.waitForOutput(/"event":"message_received","from":"A","text":"hi"/)
  })

  it('exits 1 after --drain-timeout when no peer is reachable, reporting the message failed', async () => {
    const r = await runCli(['start', 'A', '--port', '0', '--peer', url(await freePort()), '--grace', '0', '--drain-timeout', '1s', '--json'], {
      input: '1 into the void\n',
      env,
    })
    expect(r.code).toBe(1)
    const evs = events(r.stdout)
    expect(evs).toContainEqual(expect.objectContaining({event: 'message_failed', text: 'into the void'}))
    expect(evs.at(-1)).toMatchObject({event: 'stopped', code: 1})
  })

  it('exits 1 when the peer takes the message but never acknowledges in time', async () => {
    const peer = track(await startNode(['B', '--port', '0', '--no-repl', '--ack-delay', '1m'], env))
    const r = await runCli(['start', 'A', '--port', '0', '--peer', peer.url, '--grace', '0', '--drain-timeout', '1s', '--ack-timeout', '30s'], {
      input: '1 slow\n',
      env,
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/not acknowledged by B: slow/)
  })

  it('--no-repl drains on SIGTERM and exits 0 with nothing pending', async () => {
    const node = track(await startNode(['solo', '--port', '0', '--no-repl'], env))
    node.kill('SIGTERM')
    expect(await node.exited).toBe(0)
    expect(events(node.stdout()).at(-1)).toMatchObject({event: 'stopped', code: 0})
  })
})

describe('command-line errors', () => {
  it.each([
    [['start', 'A', '--grace', 'soon'], /--grace: invalid duration "soon"/],
    [['start', 'A', '--port', '70000'], /--port: invalid port "70000"/],
    [['start', 'A', '--peer', 'http://x'], /--peer: invalid URL/],
    [['start', 'A', '--max-payload', 'huge'], /--max-payload: invalid size/],
    [['start', 'A', '--frobnicate'], /Nonexistent flag: --frobnicate/],
  ])('%j is one line on stderr and exit 2', async (args, re) => {
    const r = await runCli(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(re)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/)
  })

  it('a port in use is one line naming the port, exit 1', async () => {
    const first = track(await startNode(['A', '--port', '0', '--no-repl'], env))
    const r = await runCli(['start', 'B', '--port', String(first.port), '--no-repl'], {env})
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`error: port ${first.port} is already in use on 127.0.0.1`)
  })

  it('a bad REPL line prints a one-line error with a hint and the node goes on', async () => {
    const r = await runCli(['start', 'solo', '--port', '0'], {input: 'bogus\n1\nstats\n', env})
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^error: unknown command "bogus"; type "help"/m)
    expect(r.stderr).toMatch(/^error: empty message/m)
    expect(r.stdout).toMatch(/name=solo connections=0 peers=0 pending=0 outbox=0/)
  })

  it('with --json answers help, stats and peers as info events carrying data', async () => {
    const r = await runCli(['start', 'solo', '--port', '0', '--json'], {input: 'help\nstats\npeers\n', env})
    expect(r.code).toBe(0)
    const infos = events(r.stdout).filter((e) => e.event === 'info')
    expect(infos.map((e) => e.topic)).toEqual(['help', 'stats', 'peers'])
    expect(infos[0].data).toContainEqual(expect.objectContaining({command: '1 <message>'}))
    expect(infos[1].data).toMatchObject({name: 'solo', connections: 0, peers: 0, pending: 0, outbox: 0})
    expect(infos[2].data).toEqual([])
  })
})

import {readdirSync, statSync, truncateSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {cliEnv, events, freePort, runCli, spawnCli, startNode, trackProcesses, type Spawned} from '../helpers/cli.js'

const TOKEN = 'outbox-test-token'
const track = trackProcesses()
const url = (port: number) => `ws://127.0.0.1:${port}/ws`
/** Not A or B: those presets dial a port of their own. */
const SENDER = 'tx'
const RECEIVER = 'rx'
const LINES = 1000
const line = (i: number) => `line-${String(i).padStart(4, '0')}`

/** An environment whose XDG_STATE_HOME survives restarts of the nodes started with it. */
const sharedEnv = () => cliEnv({PEERLINK_TOKEN: TOKEN})

/** What a receiver showed (repeats are reported but not shown) and how many repeats it recognised. */
function shown(s: Spawned): {texts: string[]; repeats: number} {
  const received = events(s.stdout()).filter((e) => e.event === 'message_received')
  return {texts: received.filter((e) => !e.repeat).map((e) => e.text as string), repeats: received.filter((e) => e.repeat).length}
}

/** Writes lines `from..to-1` as `1 <line>` to a node's REPL. */
function feed(s: Spawned, from: number, to: number): void {
  let text = ''
  for (let i = from; i < to; i++) text += `1 ${line(i)}\n`
  s.proc.stdin.write(text)
}

/**
 * A barrier on a node with a REPL (its first `stats`): the answer comes once
 * everything it recorded before the line is durable. Returns the stats.
 */
async function firstStats(s: Spawned): Promise<Record<string, unknown>> {
  s.proc.stdin.write('stats\n')
  await s.waitForOutput(/"topic":"stats"/)
  return events(s.stdout()).find((e) => e.event === 'info' && e.topic === 'stats')?.data as Record<string, unknown>
}

/** Resolves once `s` has shown `text`. */
const showed = (s: Spawned, text: string) => s.waitForOutput(new RegExp(`"event":"message_received","from":"[^"]*","text":"${text}"`))

const all = Array.from({length: LINES}, (_, i) => line(i))

describe('the durable outbox', () => {
  it('a sender SIGKILLed midway with its peer down resends after its restart: all 1000 arrive, each shown once, in order', async () => {
    const env = sharedEnv()
    const rxPort = await freePort()
    const senderArgs = [SENDER, '--port', '0', '--peer', url(rxPort), '--grace', '0']
    let tx = track(await startNode(senderArgs, env))
    // the peer is down: everything waits in the outbox
    feed(tx, 0, LINES / 2)
    expect(await firstStats(tx)).toMatchObject({outbox: LINES / 2})
    tx.kill('SIGKILL')
    await tx.exited

    const rx = track(await startNode([RECEIVER, '--port', String(rxPort), '--no-repl', '--grace', '0'], env))
    tx = track(await startNode(senderArgs, env))
    await tx.waitForOutput(/"topic":"outbox","msg":"resending 500 unacknowledged messages from the last run"/)
    feed(tx, LINES / 2, LINES)
    tx.proc.stdin.end()
    expect(await tx.exited).toBe(0)
    await showed(rx, line(LINES - 1))
    expect(shown(rx).texts).toEqual(all)
  })

  it('a receiver SIGKILLed midway and restarted shows each of 1000 once, in order: it remembers what it showed', async () => {
    const env = sharedEnv()
    const rxPort = await freePort()
    // the first receiver holds every ok (a minute), so everything it showed is resent to the second
    const rx1 = track(await startNode([RECEIVER, '--port', String(rxPort), '--grace', '0', '--ack-delay', '1m'], env))
    const tx = track(await startNode([SENDER, '--port', '0', '--peer', url(rxPort), '--grace', '0', '--ack-timeout', '1m'], env))
    await tx.waitForOutput(/"event":"peer_connected"/)
    feed(tx, 0, LINES / 2)
    await showed(rx1, line(LINES / 2 - 1))
    await firstStats(rx1)
    rx1.kill('SIGKILL')
    await rx1.exited

    const rx2 = track(await startNode([RECEIVER, '--port', String(rxPort), '--no-repl', '--grace', '0'], env))
    feed(tx, LINES / 2, LINES)
    tx.proc.stdin.end()
    expect(await tx.exited).toBe(0)
    await showed(rx2, line(LINES - 1))
    expect(shown(rx1).texts).toEqual(all.slice(0, LINES / 2))
    expect(shown(rx2).texts).toEqual(all.slice(LINES / 2))
    // the first half came again, and the new receiver knew it
    expect(shown(rx2).repeats).toBe(LINES / 2)
  })

  it("a resend after the sender's own restart is recognised: its id survives in the state directory", async () => {
    const env = sharedEnv()
    const rx = track(await startNode([RECEIVER, '--port', '0', '--no-repl', '--ack-delay', '1m'], env))
    const args = [SENDER, '--port', '0', '--peer', rx.url, '--grace', '0']
    let tx = track(await startNode(args, env))
    feed(tx, 0, 3)
    await firstStats(tx)
    await showed(rx, line(2))
    tx.kill('SIGKILL')
    await tx.exited
    // a repeat is acknowledged at once, so the restarted sender drains although the receiver holds new oks for a minute
    tx = track(await startNode(args, env))
    await tx.waitForOutput(/resending 3 unacknowledged messages from the last run/)
    tx.proc.stdin.end()
    expect(await tx.exited).toBe(0)
    await rx.waitForOutput(new RegExp(`"text":"${line(2)}","repeat":true`))
    expect(shown(rx)).toEqual({texts: all.slice(0, 3), repeats: 3})
  })

  it('keeps what is unacknowledged at exit (exit 1, one line), and a second process on the same state directory is refused', async () => {
    const env = sharedEnv()
    const dir = path.join(env.XDG_STATE_HOME as string, 'custom')
    const down = url(await freePort())
    const first = await runCli(['start', SENDER, '--port', '0', '--peer', down, '--grace', '0', '--drain-timeout', '300ms', '--state', dir], {input: '1 kept\n', env})
    expect(first.code).toBe(1)
    expect(first.stdout).toMatch(/1 unacknowledged message stays in the outbox \(.*custom\) and will be resent on the next start/)

    const holder = track(await startNode(['other', '--port', '0', '--peer', down, '--no-repl', '--state', dir], env))
    await holder.waitForOutput(/resending 1 unacknowledged message from the last run/)
    const refused = await runCli(['start', 'third', '--port', '0', '--no-repl', '--state', dir], {env})
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(new RegExp(`^error: state .*custom is in use by another peerlink process \\(pid ${holder.proc.pid}\\)`))
    expect(refused.stdout).toBe('')

    // kill -9 leaves no lock behind: the kernel drops it with the process
    holder.kill('SIGKILL')
    await holder.exited
    const after = await runCli(['start', 'third', '--port', '0', '--peer', down, '--grace', '0', '--drain-timeout', '300ms', '--state', dir, '--json'], {env})
    expect(after.code).toBe(1)
    expect(events(after.stdout)).toContainEqual(expect.objectContaining({event: 'info', topic: 'outbox', data: expect.objectContaining({resending: 1})}))
  })

  it('--ephemeral leaves nothing on disk (and without it the state directory is there)', async () => {
    const rxEnv = sharedEnv()
    const rx = track(await startNode([RECEIVER, '--port', '0', '--no-repl', '--ephemeral'], rxEnv))
    const txEnv = sharedEnv()
    const r = await runCli(['start', SENDER, '--port', '0', '--peer', rx.url, '--grace', '0', '--ephemeral'], {input: '1 light\n', env: txEnv})
    expect(r.code).toBe(0)
    const c = await runCli(['connect', rx.url, '--ephemeral', '--name', 'c1'], {input: '', env: txEnv})
    expect(c.code).toBe(0)
    const node = track(await startNode(['relay', '--port', '0', '--no-repl', '--ephemeral'], txEnv))
    // the relay's only client is the sender itself, which takes and acknowledges its own message
    const s = await runCli(['send', node.url, '--ephemeral', 'x'], {env: txEnv})
    expect(s.code).toBe(0)
    expect(readdirSync(txEnv.XDG_STATE_HOME as string)).toEqual([])
    await showed(rx, 'light')
    expect(shown(rx).texts).toEqual(['light'])
    expect(readdirSync(rxEnv.XDG_STATE_HOME as string)).toEqual([])

    const durable = await runCli(['start', SENDER, '--port', '0', '--peer', rx.url, '--grace', '0'], {input: '1 heavy\n', env: txEnv})
    expect(durable.code).toBe(0)
    expect(readdirSync(path.join(txEnv.XDG_STATE_HOME as string, 'peerlink'))).toEqual([SENDER])
    expect(statSync(path.join(txEnv.XDG_STATE_HOME as string, 'peerlink', SENDER)).mode & 0o777).toBe(0o700)
  })

  it('a truncated store file is refused in one line, and left as it was', async () => {
    const env = sharedEnv()
    const down = url(await freePort())
    const args = ['start', SENDER, '--port', '0', '--peer', down, '--grace', '0', '--drain-timeout', '300ms']
    let input = ''
    for (let i = 0; i < 200; i++) input += `1 ${line(i)} ${'x'.repeat(200)}\n`
    expect((await runCli(args, {input, env})).code).toBe(1)
    const file = path.join(env.XDG_STATE_HOME as string, 'peerlink', SENDER, 'peerlink.db')
    truncateSync(file, Math.floor(statSync(file).size / 2))
    const size = statSync(file).size

    const r = await runCli(args, {input: '1 more\n', env})
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^error: state .*peerlink\.db is damaged \(SQLITE_CORRUPT: database disk image is malformed\); nothing was changed/)
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/)
    expect(r.stdout).toBe('')
    expect(statSync(file).size).toBe(size)

    // emptied (truncated to 0) is noticed too: the id says this directory held a store
    truncateSync(file, 0)
    const empty = await runCli(args, {input: '', env})
    expect(empty.code).toBe(1)
    expect(empty.stderr).toMatch(/^error: state .* peerlink\.db is missing or empty, but id says this directory was used before/)
  })

  it('a store that cannot be written (the file-size limit as a full disk) is one error line; the messages still go out from memory', async () => {
    const rx = track(await startNode([RECEIVER, '--port', '0', '--no-repl', '--ephemeral'], sharedEnv()))
    // a shell sets the limit (in 512-byte blocks) and execs node; node ignores SIGXFSZ, so writes past it fail with EFBIG
    const limited = ['/bin/sh', '-c', 'ulimit -f 200 && exec "$@"', 'sh']
    const tx = track(spawnCli(['start', SENDER, '--port', '0', '--peer', rx.url, '--grace', '0', '--json'], sharedEnv(), limited))
    let input = ''
    for (let i = 0; i < 3000; i++) input += `1 ${line(i)} ${'z'.repeat(100)}\n`
    tx.proc.stdin.end(input)
    expect(await tx.exited).toBe(0)
    const errors = events(tx.stdout()).filter((e) => e.event === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].msg).toMatch(/^state .*peerlink\.db: SQLITE_(FULL|IOERR\w*): .*: messages go out from memory and are written when it can be/)
    await showed(rx, `${line(2999)} ${'z'.repeat(100)}`)
    expect(shown(rx).texts).toHaveLength(3000)
  })

  it('send keeps an unacknowledged message, and the next send to that URL sends it first', async () => {
    const env = sharedEnv()
    const port = await freePort()
    const failed = await runCli(['send', url(port), '--retries', '0', 'first words'], {env})
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/^error: not acknowledged after 1 attempt: .*; the message stays in .*@send: the next send to ws:\/\/127\.0\.0\.1:\d+\/ws sends it again\n$/)

    const node = track(await startNode(['relay', '--port', String(port), '--no-repl'], env))
    const receiver = track(spawnCli(['connect', node.url, '--name', 'rcv', '--json'], env))
    await receiver.waitForOutput(/"event":"peer_connected"/)
    const ok = await runCli(['send', url(port), 'second words'], {env})
    expect(ok.code).toBe(0)
    expect(ok.stderr).toBe('resending 1 unacknowledged message from an earlier send\n')
    expect(ok.stdout).toMatch(/^acknowledged: second words/)
    // the relay hands each to a random client (the sender included) and the send waited for both oks
    for (const text of ['first words', 'second words']) await node.waitForOutput(new RegExp(`"event":"message_relayed","from":"[^"]*","text":"${text}"`))
    expect(readdirSync(path.join(env.XDG_STATE_HOME as string, 'peerlink', '@send'))).toEqual([])
  })
})

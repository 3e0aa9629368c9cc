import {spawn} from 'node:child_process'
import {afterEach, describe, expect, it} from 'vitest'
import {cliEnv, freePort, RUN, startNode, trackProcesses} from '../helpers/cli.js'
import {renderScreen} from '../helpers/screen.js'
import {waitUntil} from '../helpers/ws.js'

/**
 * Runs `peerlink start ...` in a real pseudo-terminal (util-linux `script`),
 * the way a person in a terminal would, and reads what the screen shows.
 */
function inTerminal(args: string[]) {
  const command = [process.execPath, RUN, ...args].map((a) => `'${a}'`).join(' ')
  const env: NodeJS.ProcessEnv = {...shared, COLUMNS: '120', LINES: '40', TERM: 'xterm-256color', FORCE_COLOR: '1'}
  delete env.NO_COLOR
  const proc = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {env, stdio: 'pipe'})
  let raw = ''
  let errors = ''
  proc.stdout.on('data', (d: Buffer) => (raw += d.toString()))
  // what script itself says (it cannot open a terminal, say): shown when a wait times out
  proc.stderr.on('data', (d: Buffer) => (errors += d.toString()))
  const exited = new Promise<number>((resolve) => proc.on('close', (code) => resolve(code ?? 1)))
  terminals.push(proc)
  return {
    proc,
    exited,
    raw: () => raw,
    screen: () => renderScreen(raw),
    type: (keys: string) => proc.stdin.write(keys),
    waitForScreen: (re: RegExp, what = String(re)) => waitUntil(() => renderScreen(raw).some((l) => re.test(l)), 15_000, `${what} on screen:\n${renderScreen(raw).join('\n')}${errors && `\n--- script's stderr:\n${errors}`}`),
    /** waits until the screen as a whole satisfies `ok` (a terminal may get a line and its redraw in separate writes) */
    waitForState: (ok: (screen: string[]) => boolean, what: string) => waitUntil(() => ok(renderScreen(raw)), 15_000, `${what}; the screen:\n${renderScreen(raw).join('\n')}`),
  }
}

/** every terminal a test opened; one a failed test left running is killed after it (with the node in it) */
const terminals: ReturnType<typeof spawn>[] = []
afterEach(async () => {
  for (const proc of terminals.splice(0)) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue
    const closed = new Promise((resolve) => proc.once('close', resolve))
    proc.kill('SIGKILL')
    await closed
  }
})

// one user: the terminal node and its peers share a config folder, hence the token file
const shared = cliEnv()
const track = trackProcesses()

describe('the REPL in a real terminal', () => {
  it('keeps the prompt and a half-typed line intact while messages arrive, and colours its output', async () => {
    const portA = await freePort()
    const b = track(await startNode(['B', '--port', '0', '--peer', `ws://127.0.0.1:${portA}/ws`, '--grace', '0'], shared))
    const term = inTerminal(['start', 'A', '--port', String(portA), '--peer', b.url, '--grace', '0'])
    await term.waitForScreen(/linked to peer B/)
    await term.waitForScreen(/^A>$/, 'the prompt')

    term.type('1 hel') // half-typed when B's message arrives
    await term.waitForScreen(/^A> 1 hel$/)
    await b.waitForOutput(/"event":"peer_connected","peer":"A"/)
    b.proc.stdin.write('1 incoming from B\n')
    // the message line, and below it the prompt with the typing, redrawn (it may come in a write of its own)
    await term.waitForState((screen) => screen.some((l) => /\d\d:\d\d:\d\d A B: incoming from B$/.test(l)) && screen.at(-1) === 'A> 1 hel', 'the message above the prompt and the typing')
    const screen = term.screen()
    expect(screen.at(-1)).toBe('A> 1 hel') // the prompt and the typing survived, below the message
    expect(screen.findIndex((l) => /A B: incoming from B$/.test(l))).toBeLessThan(screen.length - 1)

    term.type('lo\r')
    await term.waitForScreen(/✓ B acknowledged: hello \(\d+ ms\)/)
    await b.waitForOutput(/"event":"message_received","from":"A","text":"hello"/)
    expect(term.raw()).toMatch(/\x1b\[3\dm/) // coloured in a terminal

    term.type('bogus\r')
    await term.waitForScreen(/^error: unknown command "bogus"; type "help"/)
    term.type('quit\r')
    expect(await term.exited).toBe(0)
    expect(term.screen().join('\n')).toMatch(/A stopped/)
  })

  it('asks for confirmation before quitting with unacknowledged messages', async () => {
    const slow = track(await startNode(['B', '--port', '0', '--no-repl', '--ack-delay', '1m'], shared))
    const term = inTerminal(['start', 'A', '--port', '0', '--peer', slow.url, '--grace', '0', '--ack-timeout', '1m'])
    await term.waitForScreen(/linked to peer B/)
    term.type('1 pending forever\r')
    await slow.waitForOutput(/"text":"pending forever"/)
    term.type('quit\r')
    await term.waitForScreen(/1 message\(s\) not acknowledged yet\. Quit anyway\?/)
    term.type('n') // no: back at the prompt
    term.type('\r')
    await term.waitForScreen(/^A>$/)
    term.type('quit\r')
    await term.waitForScreen(/Quit anyway\? .*$/)
    term.type('y\r')
    expect(await term.exited).toBe(1)
    expect(term.screen().join('\n')).toMatch(/not acknowledged by B: pending forever/)
  })

  it('asks for name, port and peer when started with no name', async () => {
    const term = inTerminal(['start', '--grace', '0'])
    await term.waitForScreen(/Which node is this\?/)
    await term.waitForScreen(/another name, port and peer/)
    term.type('\x1b[B\x1b[B') // down twice: "another name, port and peer"
    term.type('\r')
    await term.waitForScreen(/Node name:/)
    term.type('tester\r')
    await term.waitForScreen(/Port to listen on:/)
    term.type('\x15') // clear the default (Ctrl-U)
    term.type('99999\r')
    await term.waitForScreen(/a port is a number from 0 to 65535/)
    term.type('\x15')
    term.type('0\r')
    await term.waitForScreen(/Peer URL to dial/)
    term.type('\x15')
    term.type('\r')
    await term.waitForScreen(/tester listening on ws:\/\/127\.0\.0\.1:\d+\/ws/)
    await term.waitForScreen(/^tester>$/)
    term.type('peers\r')
    await term.waitForScreen(/no peer links/)
    term.type('quit\r')
    expect(await term.exited).toBe(0)
  })
})

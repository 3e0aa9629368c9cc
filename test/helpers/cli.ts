import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {afterEach} from 'vitest'
import {tempDir} from './temp.js'
export {freePort} from './ports.js'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const RUN = path.join(ROOT, 'bin', 'run.js')

/** A fresh config folder, so tests never read or write the user's token file; removed when the test file ends. */
export function tempConfigHome(): string {
  return tempDir('peerlink-test-')
}

/** A fresh folder for XDG_STATE_HOME, so tests never touch the user's outboxes and never share one by accident. */
export function tempStateHome(): string {
  return tempDir('peerlink-state-')
}

/** Environment for a spawned CLI: isolated config and state folders, no colour, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, XDG_CONFIG_HOME: tempConfigHome(), XDG_STATE_HOME: tempStateHome(), NO_COLOR: '1', ...extra}
  delete env.PEERLINK_TOKEN
  // Node reads this bundle of extra CAs at every start (about 70 ms of CPU on
  // this box, for each of the suite's hundreds of CLI processes); a test that
  // needs a CA passes it with --ca
  delete env.NODE_EXTRA_CA_CERTS
  Object.assign(env, extra)
  return env
}

export interface Spawned {
  proc: ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  /** resolves with the exit code */
  exited: Promise<number>
  /** resolves once stdout+stderr match `re` (rejects after `timeoutMs`) */
  waitForOutput: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  kill: (signal?: NodeJS.Signals) => void
}

/**
 * Spawns the built CLI (`bin/run.js`) with `args`; `launcher` runs it through
 * another command first (e.g. a shell setting a resource limit, which ends
 * with `exec "$@"`).
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = cliEnv(), launcher: string[] = []): Spawned {
  const [cmd, ...pre] = [...launcher, process.execPath]
  const proc = spawn(cmd, [...pre, RUN, ...args], {env, stdio: 'pipe'})
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  const poke = () => waiters.forEach((w) => w())
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    poke()
  })
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString()
    poke()
  })
  const exited = new Promise<number>((resolve) => proc.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))))
  const waitForOutput = (re: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = (out + err).match(re)
        if (m) {
          waiters.delete(check)
          clearTimeout(timer)
          resolve(m)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out waiting for ${re} in output:\n${out}\n--- stderr:\n${err}`))
      }, timeoutMs)
      waiters.add(check)
      void exited.then(() => setTimeout(check, 0))
      check()
    })
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput,
    kill: (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    },
  }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI to completion, feeding `input` on stdin (then closing it). */
export async function runCli(args: string[], opts: {input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number} = {}): Promise<RunResult> {
  const s = spawnCli(args, opts.env ?? cliEnv())
  s.proc.stdin.end(opts.input ?? '')
  const timer = setTimeout(() => s.kill(), opts.timeoutMs ?? 45_000)
  const code = await s.exited
  clearTimeout(timer)
  return {code, stdout: s.stdout(), stderr: s.stderr()}
}

/** Parses NDJSON output into events; throws on any line that is not JSON (so --json purity is checked too). */
export function events(stdout: string): Array<Record<string, unknown> & {event: string}> {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l)
      } catch {
        throw new Error(`not a JSON line on stdout: ${JSON.stringify(l)}`)
      }
    })
}


/**
 * Starts `peerlink start NAME ... --json` and waits for its `listening` event;
 * returns the spawned process and the URL it serves.
 */
export async function startNode(args: string[], env: NodeJS.ProcessEnv = cliEnv()): Promise<Spawned & {url: string; port: number}> {
  const s = spawnCli(['start', ...args, '--json'], env)
  const m = await s.waitForOutput(/"event":"listening","url":"(wss?:\/\/[^"]+)","host":"[^"]*","port":(\d+)/)
  return Object.assign(s, {url: m[1], port: Number(m[2])})
}

/**
 * Registers an afterEach that kills every process passed to the returned
 * `track` during the test, so a failing test never leaves nodes behind.
 */
export function trackProcesses(): <T extends Spawned>(s: T) => T {
  const running: Spawned[] = []
  afterEach(async () => {
    for (const s of running.splice(0)) {
      s.kill()
      await s.exited
    }
  })
  return (s) => {
    running.push(s)
    return s
  }
}

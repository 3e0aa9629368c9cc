/**
 * A real nats-server for tests: spawned on a free loopback port, waited for
 * until it accepts connections, stopped, killed (SIGKILL) and restarted on the
 * same port for fault tests. Register {@link trackNats} in a describe block
 * and every server a test started is killed after it.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import net from 'node:net'
import {afterEach} from 'vitest'
import {freePort} from './cli.js'

const ACCEPT_TIMEOUT_MS = 10_000
const ACCEPT_POLL_MS = 25

/** The nats-server binary: on the PATH, or where Debian puts it. */
export function natsServerPath(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server'
  throw new Error('nats-server not found: install it (e.g. sudo apt-get install -y nats-server); npm test does so as root')
}

export interface NatsServer {
  port: number
  /** nats://127.0.0.1:PORT */
  url: string
  readonly pid: number | undefined
  /** stops it (SIGTERM, then SIGKILL after 5 s); resolves once it has exited */
  stop(): Promise<void>
  /** kills it at once (SIGKILL); resolves once it has exited */
  kill(): Promise<void>
  /** starts it again on the same port; resolves once it accepts connections */
  restart(): Promise<void>
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({host: '127.0.0.1', port})
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

async function waitAccepting(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + ACCEPT_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`nats-server exited before accepting on ${port}:\n${log()}`)
    if (await canConnect(port)) return
    await new Promise((r) => setTimeout(r, ACCEPT_POLL_MS))
  }
  throw new Error(`nats-server did not accept on ${port} within ${ACCEPT_TIMEOUT_MS / 1000}s:\n${log()}`)
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => proc.once('exit', () => resolve()))
}

/** Starts `nats-server -a 127.0.0.1 -p <port>` (a free port unless given) and waits until it accepts. */
export async function startNats(port?: number): Promise<NatsServer> {
  const p = port ?? (await freePort())
  const bin = natsServerPath()
  let proc: ChildProcess
  let log = ''
  const launch = async () => {
    log = ''
    proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(p)], {stdio: ['ignore', 'ignore', 'pipe']})
    proc.stderr?.on('data', (d: Buffer) => {
      if (log.length < 20_000) log += d.toString()
    })
    await waitAccepting(p, proc, () => log)
  }
  await launch()
  const server: NatsServer = {
    port: p,
    url: `nats://127.0.0.1:${p}`,
    get pid() {
      return proc.pid
    },
    stop: async () => {
      const done = exited(proc)
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      const force = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await done
      clearTimeout(force)
    },
    kill: async () => {
      const done = exited(proc)
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await done
    },
    restart: async () => {
      await server.kill()
      await launch()
    },
  }
  return server
}

/** Registers an afterEach that kills every server started through the returned function during the test. */
export function trackNats(): (port?: number) => Promise<NatsServer> {
  const running: NatsServer[] = []
  afterEach(async () => {
    for (const s of running.splice(0)) await s.kill()
  })
  return async (port) => {
    const s = await startNats(port)
    running.push(s)
    return s
  }
}

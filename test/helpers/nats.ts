/**
 * A real nats-server for tests: spawned on 127.0.0.1 and a free port, waited
 * for until it says it is ready, killed with any signal and restarted on the
 * same port for the fault tests. Stop every server you start (afterAll /
 * afterEach), or start them through {@link trackNats}.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {afterEach} from 'vitest'
import {freePort} from './ports.js'

const READY_TIMEOUT_MS = 10_000

/** The nats-server binary: env NATS_SERVER, the PATH, or where Debian puts it (scripts/test-deps.sh installs it). */
export function natsServerPath(): string {
  if (process.env.NATS_SERVER) return process.env.NATS_SERVER
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server'
  throw new Error('nats-server not found: install it (e.g. sudo apt-get install -y nats-server); npm test does so as root')
}

export class NatsServer {
  private proc: ChildProcess | undefined
  private exitedP: Promise<void> = Promise.resolve()

  private constructor(readonly port: number) {}

  /** Starts one (on `port`, or a free one) and resolves once it accepts clients. */
  static async start(port?: number): Promise<NatsServer> {
    const server = new NatsServer(port ?? (await freePort()))
    await server.restart()
    return server
  }

  /** nats://127.0.0.1:PORT */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.proc?.pid
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** (Re)starts the server on its port, killing a running one first; resolves once it says it is ready (it logs that after it listens). */
  async restart(): Promise<void> {
    await this.kill()
    const bin = natsServerPath()
    const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(this.port)], {stdio: ['ignore', 'ignore', 'pipe']})
    this.proc = proc
    this.exitedP = new Promise((resolve) => proc.once('exit', () => resolve()))
    let log = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server on ${this.port} not ready within ${READY_TIMEOUT_MS} ms:\n${log}`)), READY_TIMEOUT_MS)
      proc.stderr?.on('data', (d: Buffer) => {
        if (log.length < 20_000) log += d.toString()
        if (/Server is ready/.test(log)) {
          clearTimeout(timer)
          resolve()
        }
      })
      proc.once('error', (err) => {
        clearTimeout(timer)
        reject(new Error(`cannot run ${bin}: ${err.message} (scripts/test-deps.sh installs it)`))
      })
      proc.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`))
      })
    })
  }

  /** Sends `signal` (SIGKILL by default) and resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.proc?.kill(signal)
    await this.exitedP
  }

  /** Kills it for good (for afterAll). */
  stop(): Promise<void> {
    return this.kill('SIGKILL')
  }
}

/** Starts `nats-server -a 127.0.0.1 -p PORT` (a free port unless given) and waits until it accepts. */
export function startNats(port?: number): Promise<NatsServer> {
  return NatsServer.start(port)
}

/** Registers an afterEach that kills every server started through the returned function during the test. */
export function trackNats(): (port?: number) => Promise<NatsServer> {
  const running: NatsServer[] = []
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop()
  })
  return async (port) => {
    const s = await NatsServer.start(port)
    running.push(s)
    return s
  }
}

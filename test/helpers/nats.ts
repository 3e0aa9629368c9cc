import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {freePort} from './cli.js'

/** Debian installs nats-server in /usr/sbin, which is not on every PATH; scripts/test-deps.sh installs it when missing. */
export const NATS_SERVER = process.env.NATS_SERVER ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server')

/**
 * A real nats-server on 127.0.0.1 and a free port, for one test file or one
 * test: it can be killed (any signal) and restarted on the same port for the
 * fault tests. Always `stop()` it (in afterAll/afterEach).
 */
export class NatsServer {
  private proc: ChildProcess | undefined
  private exitedP: Promise<void> = Promise.resolve()

  private constructor(readonly port: number) {}

  /** Starts one and resolves once it accepts clients. */
  static async start(): Promise<NatsServer> {
    const server = new NatsServer(await freePort())
    await server.restart()
    return server
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** (Re)starts the server on its port; resolves once it says it is ready (it logs that after it listens). */
  async restart(timeoutMs = 10_000): Promise<void> {
    if (this.running) throw new Error('nats-server is still running: kill it first')
    const proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port)], {stdio: ['ignore', 'ignore', 'pipe']})
    this.proc = proc
    this.exitedP = new Promise((resolve) => proc.once('exit', () => resolve()))
    let log = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server on ${this.port} not ready within ${timeoutMs} ms:\n${log}`)), timeoutMs)
      proc.stderr?.on('data', (d: Buffer) => {
        log += d.toString()
        if (/Server is ready/.test(log)) {
          clearTimeout(timer)
          resolve()
        }
      })
      proc.once('error', (err) => {
        clearTimeout(timer)
        reject(new Error(`cannot run ${NATS_SERVER}: ${err.message} (scripts/test-deps.sh installs it)`))
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

import cluster, {type Worker} from 'node:cluster'
import type {Readable} from 'node:stream'
import type {NodeEvent} from '../node/events.js'
import {backoffMs, LINK_BACKOFF} from '../protocol/backoff.js'

/** In a worker: which one it is (1..K), its node name and the port the primary resolved. */
const WORKER_ENV = 'PEERLINK_WORKER'
/** A worker that served this long before it died is restarted without waiting: its next failure starts the backoff over. */
const STABLE_AFTER_MS = 10_000

export interface WorkerIdentity {
  index: number
  name: string
  port: number
}

/** The identity the primary gave this process, or undefined when it is not a `--workers` worker. */
export function workerIdentity(): WorkerIdentity | undefined {
  if (!cluster.isWorker) return undefined
  const raw = process.env[WORKER_ENV]
  if (raw === undefined) return undefined
  return JSON.parse(raw) as WorkerIdentity
}

/**
 * In a worker: the primary's `stop` arrives as a SIGTERM would, so the
 * worker drains the way a single node does; signals sent to the whole
 * process group (Ctrl-C) are left to the primary, which stops every worker
 * once, so a second signal never kills a worker in the middle of draining.
 */
export function takeStopsFromPrimary(): void {
  const ignore = () => {}
  process.on('SIGINT', ignore)
  process.on('SIGTERM', ignore)
  process.on('message', (m: unknown) => {
    if ((m as {type?: string})?.type === 'stop') process.emit('SIGTERM', 'SIGTERM')
  })
}

export interface SuperviseOptions {
  count: number
  /** base name: worker i is `<name>-<i>` */
  name: string
  /** the port every worker serves (0: any free port, the same for all) */
  port: number
  /** the primary's own lines (a worker started, died, restarts) */
  report: (ev: NodeEvent) => void
  out?: NodeJS.WritableStream
  err?: NodeJS.WritableStream
}

/**
 * The primary of `start --workers K`: forks K workers of the same command
 * line, which share one listening port (node:cluster hands each accepted
 * connection to one of them in turn), merges their output line by line into
 * one stream, restarts a worker that dies (the other members re-forward what
 * it held), and on SIGINT/SIGTERM stops them all, each draining. Resolves
 * with the exit code: 0 when every worker stopped with 0. A worker that dies
 * before it ever listened (port in use, bad certificate) is fatal: the others
 * are stopped and the code is 1.
 */
export function superviseWorkers(opts: SuperviseOptions): Promise<number> {
  const out = opts.out ?? process.stdout
  const err = opts.err ?? process.stderr
  cluster.setupPrimary({silent: true})
  const running = new Map<number, Worker>()
  const attempts = new Map<number, number>()
  let stopping = false
  let failed = false

  return new Promise<number>((resolve) => {
    const finishIfDone = () => {
      if (stopping && running.size === 0) {
        process.off('SIGINT', stopAll)
        process.off('SIGTERM', stopAll)
        resolve(failed ? 1 : 0)
      }
    }
    const stopAll = () => {
      if (stopping) return
      stopping = true
      for (const w of running.values()) if (w.isConnected()) w.send({type: 'stop'})
      finishIfDone()
    }

    const fork = (index: number) => {
      const name = `${opts.name}-${index}`
      const identity: WorkerIdentity = {index, name, port: opts.port}
      const worker = cluster.fork({[WORKER_ENV]: JSON.stringify(identity)})
      const startedMs = Date.now()
      let listened = false
      running.set(index, worker)
      mergeLines(worker.process.stdout, out)
      mergeLines(worker.process.stderr, err)
      worker.on('listening', () => {
        listened = true
      })
      worker.on('online', () => opts.report({event: 'info', topic: 'workers', msg: `worker ${name} started (pid ${worker.process.pid})`, data: {worker: name, pid: worker.process.pid, state: 'started'}}))
      worker.on('exit', (code, signal) => {
        running.delete(index)
        const how = signal ? `killed by ${signal}` : `exited with ${code}`
        if (code !== 0) failed ||= stopping || !listened
        if (stopping) return finishIfDone()
        if (!listened) {
          opts.report({event: 'error', msg: `worker ${name} ${how} before it listened: stopping every worker`})
          return stopAll()
        }
        const stable = Date.now() - startedMs > STABLE_AFTER_MS
        const attempt = stable ? 1 : (attempts.get(index) ?? 0) + 1
        attempts.set(index, attempt)
        const delayMs = backoffMs(attempt, LINK_BACKOFF)
        opts.report({event: 'info', topic: 'workers', msg: `worker ${name} ${how}: restarting it in ${delayMs} ms; the other members re-forward what it held`, data: {worker: name, pid: worker.process.pid, state: 'died', code, signal, restart_in_ms: delayMs}})
        setTimeout(() => {
          if (!stopping) fork(index)
          else finishIfDone()
        }, delayMs)
      })
    }

    process.on('SIGINT', stopAll)
    process.on('SIGTERM', stopAll)
    for (let i = 1; i <= opts.count; i++) fork(i)
  })
}

/**
 * Copies a worker's output to `to` in whole lines only, so the lines of K
 * processes never cut into each other (a pipe write is atomic only up to
 * 4 KiB, and the renderers write batches).
 */
function mergeLines(from: Readable | null | undefined, to: NodeJS.WritableStream): void {
  if (!from) return
  let rest = ''
  from.setEncoding('utf8')
  from.on('data', (chunk: string) => {
    const text = rest + chunk
    const end = text.lastIndexOf('\n')
    if (end < 0) {
      rest = text
      return
    }
    to.write(text.slice(0, end + 1))
    rest = text.slice(end + 1)
  })
  from.on('end', () => {
    if (rest !== '') to.write(`${rest}\n`)
    rest = ''
  })
}

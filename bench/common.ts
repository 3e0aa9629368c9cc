/** What the benchmarks share: machine info, spawning a node, tables, results files. */
import {execSync, spawn, type ChildProcess} from 'node:child_process'
import {closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const RUN = path.join(ROOT, 'bin', 'run.js')
export const RESULTS = path.join(ROOT, 'bench', 'results')
/** Every process a benchmark spawns shares this token (nodes require one once auth is on). */
export const TOKEN = 'bench-token'

export function machineInfo(): Record<string, unknown> {
  let ulimit = 'unknown'
  try {
    ulimit = execSync('ulimit -n', {shell: '/bin/sh'}).toString().trim()
  } catch {
    // keep "unknown"
  }
  return {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    ulimit_n: ulimit,
    loadavg_1m: Math.round(os.loadavg()[0] * 100) / 100,
  }
}

/** The config and state folders benchEnv made, removed when the benchmark's process exits. */
const homes: string[] = []
process.once('exit', () => {
  for (const home of homes) rmSync(home, {recursive: true, force: true})
})

/** Environment for spawned CLIs: the shared token and throwaway config and state folders (a node's outbox lives in the state folder). */
export function benchEnv(): NodeJS.ProcessEnv {
  const home = mkdtempSync(path.join(os.tmpdir(), 'peerlink-bench-'))
  homes.push(home)
  return {...process.env, PEERLINK_TOKEN: TOKEN, XDG_CONFIG_HOME: home, XDG_STATE_HOME: path.join(home, 'state'), NO_COLOR: '1'}
}

/** `GET /stats` of a node (or the reference relay) on 127.0.0.1:`port`, with the benchmarks' token. */
export async function statsOf<T>(port: number): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}/stats`, {headers: {authorization: `Bearer ${TOKEN}`}})
  return (await res.json()) as T
}

/** Runs `peerlink load URL --clients N --ramp R --ack-delay D --json`; resolves with its exit code and its JSON report. */
export function runPeerlinkLoad<R>(url: string, o: {clients: string | number; ramp: string; ackDelay: string}): Promise<{code: number; report: R}> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [RUN, 'load', url, '--clients', String(o.clients), '--ramp', o.ramp, '--ack-delay', o.ackDelay, '--json'], {env: benchEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    proc.on('error', reject)
    proc.on('close', (code) => {
      try {
        resolve({code: code ?? 1, report: JSON.parse(out) as R})
      } catch {
        reject(new Error(`peerlink load exited ${code} without a JSON report:\n${out}`))
      }
    })
  })
}

export interface Server {
  proc: ChildProcess
  url: string
  port: number
  pid: number
  /** kills it (SIGKILL unless told otherwise: SIGTERM lets a node write its --cpu-prof) and removes its output */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** what it wrote on stdout so far */
  output(): string
}

/**
 * Spawns `peerlink start bench --port 0 --no-repl --json` (text output with
 * `{json: false}`) and waits for its listening event. The node still formats
 * and writes every event, but into a file: if the benchmark read the stream
 * itself, its load generator would pay for parsing megabytes of NDJSON a
 * second that the reference relay never makes it read, and the comparison
 * would measure the harness.
 */
export function startPeerlinkNode(extraArgs: string[] = [], opts: {json?: boolean; nodeArgs?: string[]; run?: string} = {}): Promise<Server> {
  const json = opts.json ?? true
  const args = [...(opts.nodeArgs ?? []), opts.run ?? RUN, 'start', 'bench', '--port', '0', '--no-repl', ...(json ? ['--json'] : []), ...extraArgs]
  const listening = json ? /"event":"listening","url":"([^"]+)","host":"[^"]*","port":(\d+)/ : /listening on (ws:\/\/\S+:(\d+)\/ws)/
  return startServer(process.execPath, args, listening)
}

/** Spawns the minimal reference relay (bench/reference-relay.ts) on a free port. */
export function startReferenceRelay(nodeArgs: string[] = []): Promise<Server> {
  return startServer(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'bench', 'reference-relay.ts')], /listening (ws:\/\/\S+:(\d+)\/ws)/)
}

const LISTEN_POLL_MS = 50

function startServer(cmd: string, args: string[], listening: RegExp): Promise<Server> {
  const outFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'peerlink-bench-out-')), 'stdout')
  const out = openSync(outFile, 'w')
  const proc = spawn(cmd, args, {env: benchEnv(), stdio: ['ignore', out, 'pipe'], cwd: ROOT})
  closeSync(out)
  let err = ''
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const stop = (signal: NodeJS.Signals = 'SIGKILL') =>
    new Promise<void>((done) => {
      const cleanup = () => {
        rmSync(path.dirname(outFile), {recursive: true, force: true})
        done()
      }
      if (proc.exitCode !== null) return cleanup()
      proc.once('exit', cleanup)
      proc.kill(signal)
    })
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      // the listening line is the first thing written: read just the head of the file
      const fd = openSync(outFile, 'r')
      const head = Buffer.alloc(4096)
      const n = readSync(fd, head, 0, head.length, 0)
      closeSync(fd)
      const m = listening.exec(head.subarray(0, n).toString())
      if (!m) return
      clearInterval(poll)
      resolve({proc, url: m[1], port: Number(m[2]), pid: proc.pid as number, stop, output: () => readFileSync(outFile, 'utf8')})
    }, LISTEN_POLL_MS)
    proc.once('exit', (code) => {
      clearInterval(poll)
      reject(new Error(`${path.basename(args[args.length - 1])} exited with ${code} before listening:\n${err}`))
    })
  })
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

/** Peak resident set size of a process so far in bytes (Linux /proc VmHWM). */
export function peakRssBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmHWM for pid ${pid}`)
  return Number(m[1]) * 1024
}

let clockTicks: number | undefined

/** User + system CPU a live process has used so far, in ms (Linux /proc). */
export function procCpuMs(pid: number): number {
  clockTicks ??= Number(execSync('getconf CLK_TCK').toString().trim()) || 100
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces: count from the closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Math.round(((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1000)
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** Prints rows as an aligned table. */
export function printTable(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of cells.slice(1)) console.log(line(r))
}

/** Writes `data` as bench/results/<name>-<timestamp>.json and <name>-latest.json; returns the first path. */
export function writeResult(name: string, data: unknown): string {
  mkdirSync(RESULTS, {recursive: true})
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = path.join(RESULTS, `${name}-${stamp}.json`)
  const text = `${JSON.stringify(data, null, 2)}\n`
  writeFileSync(file, text)
  writeFileSync(path.join(RESULTS, `${name}-latest.json`), text)
  return file
}

/** `--name value` from argv, else `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}

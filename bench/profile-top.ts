/**
 * The top entries of a V8 CPU profile (`node --cpu-prof`), by self time:
 * what the commit messages of the hot-path work quote.
 *
 *   node --import tsx bench/profile-top.ts FILE.cpuprofile|DIR [--top 15]
 *
 * Given a folder (what bench:throughput --cpu-prof writes per relay), it
 * reads the busiest profile in it: the main thread's, not a loader thread's.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {arg, printTable} from './common.js'

interface ProfileNode {
  id: number
  callFrame: {functionName: string; url: string; lineNumber: number}
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const given = process.argv[2]
if (!given) throw new Error('usage: profile-top.ts FILE.cpuprofile|DIR [--top N]')
const top = Number(arg('top', '15'))
const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Profile
const candidates = statSync(given).isDirectory()
  ? readdirSync(given)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(given, f))
  : [given]
const scored = candidates.map((f) => {
  const p = read(f)
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
  return {f, p, busy: p.samples.reduce((a, id, i) => a + (idle.has(id) ? 0 : (p.timeDeltas[i] ?? 0)), 0)}
})
scored.sort((a, b) => b.busy - a.busy)
if (scored.length === 0) throw new Error(`no .cpuprofile in ${given}`)
const file = scored[0].f
const profile = scored[0].p
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

const where = (n: ProfileNode) => {
  const {functionName, url, lineNumber} = n.callFrame
  const name = functionName || '(anonymous)'
  if (!url) return name
  const short = url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '').replace(/.*\/dist\//, 'dist/')
  return `${name} ${url.startsWith('node:') ? url : path.normalize(short)}:${lineNumber + 1}`
}

const totals = new Map<string, number>()
for (const [id, us] of selfUs) {
  const key = where(byId.get(id) as ProfileNode)
  totals.set(key, (totals.get(key) ?? 0) + us)
}
const all = [...totals.values()].reduce((a, b) => a + b, 0)
const idle = totals.get('(idle)') ?? 0
const busy = all - idle
const rows = [...totals.entries()]
  .filter(([k]) => k !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)
  .map(([k, us]) => [`${((us / busy) * 100).toFixed(1)}%`, `${(us / 1000).toFixed(0)} ms`, k])
console.log(`${path.relative(process.cwd(), file)}: ${(busy / 1000).toFixed(0)} ms busy of ${(all / 1000).toFixed(0)} ms sampled (shares of busy time, self)`)
printTable(['self', 'time', 'function'], rows)

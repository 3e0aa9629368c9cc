/**
 * The top entries of a V8 CPU profile (`node --cpu-prof`), by self time:
 * what the commit messages of the hot-path work quote.
 *
 *   node --import tsx bench/profile-top.ts FILE.cpuprofile [--top 15]
 */
import {readFileSync} from 'node:fs'
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

const file = process.argv[2]
if (!file) throw new Error('usage: profile-top.ts FILE.cpuprofile [--top N]')
const top = Number(arg('top', '15'))
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
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
console.log(`${path.basename(file)}: ${(busy / 1000).toFixed(0)} ms busy of ${(all / 1000).toFixed(0)} ms sampled (shares of busy time, self)`)
printTable(['self', 'time', 'function'], rows)

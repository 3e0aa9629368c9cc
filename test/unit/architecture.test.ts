import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

/**
 * The import rules of docs/architecture.md, checked on the source: every
 * `import`/`export ... from` and dynamic `import()` of one of our modules,
 * type-only imports included (they make cycles for a reader just the same).
 */

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(full)
    return e.name.endsWith('.ts') ? [full] : []
  })
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g

/** Our own modules `file` imports, as paths relative to src/ (e.g. `node/node.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3]
    if (!spec.startsWith('.')) continue
    const resolved = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts')
    out.push(path.relative(SRC, resolved))
  }
  return out
}

const STATIC_VALUE_IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s+(?!type\b)[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g

/**
 * What loading `file` loads: its static imports for their value (a dynamic
 * `import()` loads only when it runs, `import type` never), as our modules
 * (paths relative to src/) and packages (`npm:name`).
 */
function loadsOf(file: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(STATIC_VALUE_IMPORT_RE)) {
    const spec = m[1] ?? m[2]
    if (spec.startsWith('node:')) continue
    if (!spec.startsWith('.')) {
      out.push(`npm:${spec}`)
      continue
    }
    out.push(path.relative(SRC, path.resolve(path.dirname(path.join(SRC, file)), spec).replace(/\.js$/, '.ts')))
  }
  return out
}

/** Every package loading `start` loads, through our modules. */
function packagesLoadedFrom(start: string): Set<string> {
  const seen = new Set<string>()
  const packages = new Set<string>()
  const stack = [start]
  while (stack.length > 0) {
    const f = stack.pop() as string
    if (seen.has(f)) continue
    seen.add(f)
    for (const g of loadsOf(f)) {
      if (g.startsWith('npm:')) packages.add(g.slice(4))
      else stack.push(g)
    }
  }
  return packages
}

const files = sourceFiles(SRC).map((f) => path.relative(SRC, f))
const graph = new Map(files.map((f) => [f, importsOf(path.join(SRC, f))]))
const room = (f: string) => f.split(path.sep)[0]

/** Every module reachable from `start`, `start` included. */
function closure(start: string): Set<string> {
  const seen = new Set<string>()
  const stack = [start]
  while (stack.length > 0) {
    const f = stack.pop() as string
    if (seen.has(f)) continue
    seen.add(f)
    stack.push(...(graph.get(f) ?? []))
  }
  return seen
}

/** One import cycle, as a path `a -> b -> a`, or undefined. */
function findCycle(): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const trail: string[] = []
  const visit = (f: string): string[] | undefined => {
    if (state.get(f) === 'done') return undefined
    if (state.get(f) === 'open') return [...trail.slice(trail.indexOf(f)), f]
    state.set(f, 'open')
    trail.push(f)
    for (const g of graph.get(f) ?? []) {
      const cycle = visit(g)
      if (cycle) return cycle
    }
    trail.pop()
    state.set(f, 'done')
    return undefined
  }
  for (const f of files) {
    const cycle = visit(f)
    if (cycle) return cycle
  }
  return undefined
}

function violations(from: (f: string) => boolean, to: (g: string) => boolean): string[] {
  const out: string[] = []
  for (const [f, imports] of graph) if (from(f)) for (const g of imports) if (to(g)) out.push(`${f} -> ${g}`)
  return out
}

describe('the import rules of docs/architecture.md', () => {
  it('finds our imports at all (the check itself works)', () => {
    expect(files.length).toBeGreaterThan(30)
    expect(graph.get(path.join('node', 'node.ts'))).toContain(path.join('node', 'server.ts'))
    // every import resolves to a file that exists
    for (const [f, imports] of graph) for (const g of imports) expect(graph.has(g), `${f} imports ${g}`).toBe(true)
  })

  it('has no import cycle, type-only imports included', () => {
    expect(findCycle()).toBeUndefined()
  })

  it('protocol/ imports no other folder of ours', () => {
    expect(violations((f) => room(f) === 'protocol', (g) => room(g) !== 'protocol')).toEqual([])
  })

  it('http/ and client/ never import node/; client/ never imports http/ or repl/', () => {
    expect(violations((f) => room(f) === 'http', (g) => room(g) === 'node')).toEqual([])
    expect(violations((f) => room(f) === 'client', (g) => ['node', 'http', 'repl'].includes(room(g)))).toEqual([])
  })

  it('the load tester never imports the node: it is a client like any other', () => {
    expect(violations((f) => room(f) === 'load', (g) => room(g) === 'node')).toEqual([])
  })

  it('the parts the node composes never import the node', () => {
    const composed = new Set(['cluster', 'outbox', 'metrics', 'registry', 'http'])
    expect(violations((f) => composed.has(room(f)), (g) => g === path.join('node', 'node.ts'))).toEqual([])
  })

  it('the client commands never load the node or its server', () => {
    for (const command of ['send', 'connect', 'echo', 'clients', 'time']) {
      const loaded = closure(path.join('commands', `${command}.ts`))
      expect(loaded.size, command).toBeGreaterThan(1)
      expect([...loaded].filter((f) => f === path.join('node', 'node.ts') || f === path.join('node', 'server.ts')), command).toEqual([])
    }
  })

  it('loads heavy packages only where they are needed: no prompt library until a question is asked, no WebSocket library for the HTTP commands', () => {
    const packagesLoadedBy = (command: string) => packagesLoadedFrom(path.join('commands', `${command}.ts`))
    for (const command of ['send', 'connect', 'echo', 'clients', 'time', 'start', 'load']) {
      expect([...packagesLoadedBy(command)].filter((p) => p.startsWith('@inquirer/')), command).toEqual([])
    }
    for (const command of ['echo', 'clients', 'time']) expect(packagesLoadedBy(command).has('ws'), command).toBe(false)
    // the check itself sees packages
    expect(packagesLoadedBy('send').has('ws')).toBe(true)
  })

  it('the bundle the CLI runs keeps it so: a client command loads no chunk holding the node or its server, and start loads zod only with a request body and prom-client only with a scrape', () => {
    const metaFile = path.join(SRC, '..', 'dist', 'bundle', 'meta.json')
    expect(existsSync(metaFile), 'dist/bundle/meta.json is missing: run npm run build').toBe(true)
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as {outputs: Record<string, {imports: Array<{path: string; kind: string}>; inputs: Record<string, unknown>}>}
    /** the modules in `entry`'s output and in every chunk it imports statically (what loading the command loads) */
    const modulesLoadedBy = (entry: string): string[] => {
      const seen = new Set<string>()
      const stack = [`dist/bundle/${entry}.js`]
      while (stack.length > 0) {
        const out = stack.pop() as string
        if (seen.has(out)) continue
        seen.add(out)
        for (const i of meta.outputs[out]?.imports ?? []) if (i.kind === 'import-statement' && i.path.startsWith('dist/bundle/')) stack.push(i.path)
      }
      return [...seen].flatMap((out) => Object.keys(meta.outputs[out].inputs))
    }
    for (const command of ['send', 'connect', 'echo', 'clients', 'time']) {
      const loaded = modulesLoadedBy(command)
      expect(loaded, command).toContain(`dist/commands/${command}.js`)
      expect(loaded.filter((m) => m === 'dist/node/node.js' || m === 'dist/node/server.js'), command).toEqual([])
    }
    const start = modulesLoadedBy('start')
    expect(start).toContain('dist/node/server.js')
    expect(start.filter((m) => m.includes('node_modules/zod/')), 'start').toEqual([])
    // prom-client comes with the first scrape of /metrics (metrics/metrics.ts)
    expect(start.filter((m) => m.includes('node_modules/prom-client/')), 'start').toEqual([])
    expect(Object.values(meta.outputs).some((o) => Object.keys(o.inputs).some((m) => m.includes('node_modules/prom-client/'))), 'prom-client is in the bundle').toBe(true)
  })
})

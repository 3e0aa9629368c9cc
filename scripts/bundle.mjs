// Bundles the compiled CLI (dist/, from tsc) into dist/bundle/ with esbuild:
// one entry per command, oclif's `execute` (main.js) and the load tester's
// worker, with the modules they share split into chunks. Node then reads a
// handful of files per command instead of about 300 (module resolution and
// compiling many small files were most of a command's start-up), and a
// command loads only what it imports: `send` never loads the node.
//
// Every output lands in dist/bundle/ itself, one level below dist/ like
// dist/http/ or dist/load/, so paths our code builds from import.meta.url
// (the console's ../web, the load pool's ./worker.js) mean the same there.
import {build} from 'esbuild'
import {readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')
const commands = readdirSync(path.join(dist, 'commands')).filter((f) => f.endsWith('.js'))
const entryPoints = {
  main: path.join(dist, 'cli', 'main.js'),
  worker: path.join(dist, 'load', 'worker.js'),
  ...Object.fromEntries(commands.map((f) => [path.basename(f, '.js'), path.join(dist, 'commands', f)])),
}

// from scratch: a chunk of an earlier build is dead weight, and a command file
// of an earlier build (a command since renamed) would still be found as a command
rmSync(path.join(dist, 'bundle'), {recursive: true, force: true})
const result = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: path.join(dist, 'bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // native addons and optional packages stay where npm put them; typescript
  // is what oclif looks for only when run from sources (bin/dev.js)
  external: ['better-sqlite3', 'bufferutil', 'utf-8-validate', 'typescript'],
  // CommonJS packages inside an ES module bundle still call require() and read
  // __dirname. esbuild does not see these names, so a bundled module that
  // declares its own top-level __dirname would clash with them at load time:
  // every command's start-up in the tests would fail at once, not quietly.
  banner: {
    js: [
      "import {createRequire as __peerlinkRequire} from 'node:module'",
      "import {fileURLToPath as __peerlinkPath} from 'node:url'",
      'const require = __peerlinkRequire(import.meta.url)',
      'const __filename = __peerlinkPath(import.meta.url)',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'))",
    ].join(';'),
  },
  // every chunk, shared or dynamically imported, is chunk-*.js: oclif takes the other files for commands
  chunkNames: 'chunk-[name]-[hash]',
  // which modules each output holds and which chunks it imports: test/unit/architecture.test.ts checks what a command loads
  metafile: true,
  logLevel: 'warning',
})
writeFileSync(path.join(dist, 'bundle', 'meta.json'), JSON.stringify(result.metafile))
console.log(`dist/bundle: ${Object.keys(entryPoints).length} entries`)

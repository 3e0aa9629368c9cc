import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {cliEnv, ROOT, RUN} from '../helpers/cli.js'
import {tempDir} from '../helpers/temp.js'

/**
 * Runs the CLI with a preloaded probe that records every module it loads: ES
 * modules through a resolve hook (the bundle in dist/bundle/ holds oclif), and
 * CommonJS ones from require's cache on exit (oclif unbundled is CommonJS).
 */
function runProbed(args: string[], extraEnv: Record<string, string> = {}): {code: number | null; stdout: string; loaded: string[]} {
  const dir = tempDir('peerlink-probe-')
  const log = path.join(dir, 'loaded.txt')
  writeFileSync(log, '')
  writeFileSync(path.join(dir, 'hooks.mjs'), `import {appendFileSync} from 'node:fs'\nexport async function resolve(spec, context, next) {\n  const r = await next(spec, context)\n  appendFileSync(${JSON.stringify(log)}, r.url + '\\n')\n  return r\n}\n`)
  writeFileSync(path.join(dir, 'probe.mjs'), "import {register} from 'node:module'\nregister(new URL('./hooks.mjs', import.meta.url))\n")
  writeFileSync(path.join(dir, 'probe.cjs'), "process.on('exit', () => require('node:fs').appendFileSync(" + JSON.stringify(log) + ", Object.keys(require.cache).join('\\n') + '\\n'))\n")
  const r = spawnSync(process.execPath, ['--require', path.join(dir, 'probe.cjs'), '--import', path.join(dir, 'probe.mjs'), RUN, ...args], {encoding: 'utf8', env: cliEnv(extraEnv)})
  return {code: r.status, stdout: r.stdout, loaded: readFileSync(log, 'utf8').split('\n').filter((l) => l !== '')}
}

/** oclif, unbundled or as the bundle's entry that holds its `execute` */
const isOclif = (m: string) => m.includes(`${path.sep}@oclif${path.sep}`) || m.endsWith('/dist/bundle/main.js')

describe('start-up', () => {
  it('answers --version as oclif would, without loading oclif (a script pays for start-up on every run)', () => {
    const {name, version} = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {name: string; version: string}
    const r = runProbed(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${name}/${version} ${process.platform}-${os.arch()} node-${process.version}\n`)
    expect(r.loaded.filter(isOclif)).toEqual([])
    // the probe does see oclif when a command runs
    const help = runProbed(['echo', '--help'])
    expect(help.code).toBe(0)
    expect(help.loaded.some(isOclif)).toBe(true)
  })

  it('runs the bundle, not the sources, whatever NODE_ENV says: no tsx or typescript loaded under test or development', () => {
    const devTools = /[/\\]node_modules[/\\](tsx|typescript|esbuild)[/\\]/
    for (const NODE_ENV of ['test', 'development']) {
      // a command that runs (help alone would not reach the command's module): echo to a port nobody serves
      const r = runProbed(['echo', 'ws://127.0.0.1:1/ws', 'hi'], {NODE_ENV})
      expect(r.code).toBe(1)
      expect(r.loaded.some(isOclif)).toBe(true)
      expect(r.loaded.filter((m) => devTools.test(m))).toEqual([])
    }
  })
})

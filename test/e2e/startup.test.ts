import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {cliEnv, ROOT, RUN} from '../helpers/cli.js'
import {tempDir} from '../helpers/temp.js'

/** Runs the CLI with a preloaded probe that writes, on exit, every CommonJS module loaded (oclif is CommonJS). */
function runProbed(args: string[]): {code: number | null; stdout: string; loaded: string[]} {
  const probe = path.join(tempDir('peerlink-probe-'), 'probe.cjs')
  writeFileSync(probe, "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache))))\n")
  const r = spawnSync(process.execPath, ['--require', probe, RUN, ...args], {encoding: 'utf8', env: cliEnv()})
  const marker = r.stderr.lastIndexOf('\nLOADED ')
  return {code: r.status, stdout: r.stdout, loaded: JSON.parse(r.stderr.slice(marker + '\nLOADED '.length)) as string[]}
}

const isOclif = (m: string) => m.includes(`${path.sep}@oclif${path.sep}`)

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
})

/**
 * `peerlink --version` without loading oclif: a script that asks for the
 * version (or runs peerlink at all) should not pay for a command framework
 * it does not use. Imports nothing but Node's own modules; bin/run.js calls
 * it before anything else.
 */
import {readFileSync} from 'node:fs'
import os from 'node:os'

/**
 * What oclif answers to `--version` (its `config.userAgent`):
 * `peerlink/0.1.0 linux-x64 node-v20.20.2`, the platform `wsl` under WSL.
 */
export function userAgent(packageJson: URL): string {
  const {name, version} = JSON.parse(readFileSync(packageJson, 'utf8')) as {name: string; version: string}
  const wsl = process.platform === 'linux' && os.release().toLowerCase().includes('microsoft')
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
  return `${name}/${version} ${wsl ? 'wsl' : process.platform}-${arch} node-${process.version}`
}

/** True when `argv` (without node and the script) asks only for the version, as oclif's `--version` does. */
export function asksForVersion(argv: readonly string[]): boolean {
  return argv[0] === '--version'
}

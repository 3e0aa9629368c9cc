import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveToken, tokenFilePath} from '../../src/client/token.js'
import {PeerlinkError} from '../../src/protocol/errors.js'
import {ROOT, tempConfigHome} from '../helpers/cli.js'

describe('token resolution', () => {
  it('prefers --token, then PEERLINK_TOKEN, then the token file', () => {
    const home = tempConfigHome()
    mkdirSync(path.join(home, 'peerlink'))
    writeFileSync(path.join(home, 'peerlink', 'token'), 'from-file\n')
    const env = {XDG_CONFIG_HOME: home, PEERLINK_TOKEN: 'from-env'}
    expect(resolveToken({flag: 'from-flag', env})).toBe('from-flag')
    expect(resolveToken({env})).toBe('from-env')
    expect(resolveToken({env: {XDG_CONFIG_HOME: home}})).toBe('from-file')
  })

  it('reads --token-file after --token and the URL, before PEERLINK_TOKEN and the default file', () => {
    const home = tempConfigHome()
    mkdirSync(path.join(home, 'peerlink'))
    writeFileSync(path.join(home, 'peerlink', 'token'), 'from-default-file\n')
    const file = path.join(home, 'my-token')
    writeFileSync(file, '  from-token-file \n', {mode: 0o600})
    const env = {XDG_CONFIG_HOME: home, PEERLINK_TOKEN: 'from-env'}
    expect(resolveToken({file, env})).toBe('from-token-file')
    expect(resolveToken({file, flag: 'from-flag', env})).toBe('from-flag')
    expect(resolveToken({file, url: 'from-url', env})).toBe('from-url')
    // a node given --token-file never creates the default file instead
    expect(resolveToken({file, env: {XDG_CONFIG_HOME: tempConfigHome()}, create: true})).toBe('from-token-file')
  })

  it('refuses a --token-file that is missing or empty as a flag error, and warns when others may read it', () => {
    const home = tempConfigHome()
    for (const [file, message] of [
      [path.join(home, 'missing'), /--token-file: cannot read .*missing: ENOENT/],
      [path.join(home, 'empty'), /--token-file .*empty: the token is empty/],
    ] as const) {
      if (file.endsWith('empty')) writeFileSync(file, '\n', {mode: 0o600})
      expect(() => resolveToken({file, env: {}})).toThrow(message)
    }
    const open = path.join(home, 'open')
    writeFileSync(open, 'tok\n', {mode: 0o644})
    const warnings: string[] = []
    expect(resolveToken({file: open, env: {}, warn: (m) => warnings.push(m)})).toBe('tok')
    expect(warnings).toEqual([expect.stringMatching(/other users can read the token file .*open \(mode 644\): chmod 600/)])
  })

  it('creates a missing token file with mode 0600 and 32 random bytes in hex', () => {
    const env = {XDG_CONFIG_HOME: tempConfigHome()}
    const token = resolveToken({env, create: true})
    const file = tokenFilePath(env)
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    expect(readFileSync(file, 'utf8').trim()).toBe(token)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(resolveToken({env, create: true})).toBe(token)
  })

  it('lets a client read the token file but never create it', () => {
    const env = {XDG_CONFIG_HOME: tempConfigHome()}
    expect(resolveToken({env})).toBeUndefined()
    expect(() => statSync(tokenFilePath(env))).toThrow()
  })

  it('falls back to ~/.config when XDG_CONFIG_HOME is unset or relative', () => {
    expect(tokenFilePath({HOME: '/h'})).toMatch(/\.config\/peerlink\/token$/)
    expect(tokenFilePath({XDG_CONFIG_HOME: 'relative'})).toMatch(/\.config\/peerlink\/token$/)
    expect(tokenFilePath({XDG_CONFIG_HOME: '/x'})).toBe('/x/peerlink/token')
  })

  it('refuses an empty token or one that cannot travel in a header, as a flag error', () => {
    for (const bad of ['', '   ', 'has space', 'naïve']) {
      let err: unknown
      try {
        resolveToken({flag: bad, env: {}})
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(PeerlinkError)
      expect((err as PeerlinkError).exitCode).toBe(2)
    }
  })

  it('gives processes racing to create the file one token', async () => {
    const home = tempConfigHome()
    const module = path.join(ROOT, 'dist', 'client', 'token.js')
    const script = `import(${JSON.stringify(module)}).then((m) => process.stdout.write(m.resolveToken({create: true})))`
    const env: NodeJS.ProcessEnv = {...process.env, XDG_CONFIG_HOME: home}
    delete env.PEERLINK_TOKEN
    const runs = Array.from(
      {length: 8},
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', script], {env})
          let out = ''
          child.stdout.on('data', (d: Buffer) => (out += d.toString()))
          child.on('error', reject)
          child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))))
        }),
    )
    const tokens = await Promise.all(runs)
    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).toMatch(/^[0-9a-f]{64}$/)
    expect(readFileSync(path.join(home, 'peerlink', 'token'), 'utf8').trim()).toBe(tokens[0])
  })
})

import {execSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {FD_RESERVE, HTTP_RESERVE, maxConnectionsFor, openFileLimit, webSocketCapFor} from '../../src/node/limits.js'

describe('connection cap under an open-file limit', () => {
  it('keeps a reserve of descriptors free, at most a quarter of a small limit', () => {
    expect(maxConnectionsFor(20_000)).toBe(20_000 - FD_RESERVE)
    expect(maxConnectionsFor(100)).toBe(75)
    expect(maxConnectionsFor(undefined)).toBeUndefined()
  })

  it('keeps sockets for HTTP and 503 answers below the socket cap, at most an eighth of a small limit', () => {
    expect(webSocketCapFor(20_000)).toBe(20_000 - FD_RESERVE - HTTP_RESERVE)
    expect(webSocketCapFor(100)).toBe(75 - 12)
    expect(webSocketCapFor(4)).toBe(3)
    expect(webSocketCapFor(undefined)).toBeUndefined()
  })

  it('reads the same soft limit the shell reports', () => {
    const shell = execSync('ulimit -n', {shell: '/bin/sh'}).toString().trim()
    const expected = process.platform === 'linux' && shell !== 'unlimited' ? Number(shell) : undefined
    expect(openFileLimit()).toBe(expected)
  })
})

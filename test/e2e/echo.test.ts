import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cliEnv, runCli, startNode} from '../helpers/cli.js'
import {bearer, call} from '../helpers/http.js'

const TOKEN = 'echo-token'

describe('POST /echo', () => {
  let node: Awaited<ReturnType<typeof startNode>>

  beforeAll(async () => {
    node = await startNode(['echoer', '--port', '0', '--no-repl', '--token', TOKEN])
  })
  afterAll(async () => {
    node.kill('SIGTERM')
    await node.exited
  })

  it('answers the body verbatim, unicode and newlines included, with its content type', async () => {
    const body = 'héllo wörld ✓ 🎉\r\nline two\n\ttabbed\n'
    const res = await call(node.port, 'POST', '/echo', {headers: {...bearer(TOKEN), 'content-type': 'text/x-peerlink; charset=utf-8'}, body})
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/x-peerlink; charset=utf-8')
    expect(res.body.toString('utf8')).toBe(body)
  })

  it('answers any bytes verbatim, invalid UTF-8 included (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({maxLength: 4096}), fc.constantFrom('application/octet-stream', 'text/plain', 'application/json'), async (bytes, type) => {
        const body = Buffer.from(bytes)
        const res = await call(node.port, 'POST', '/echo', {headers: {...bearer(TOKEN), 'content-type': type}, body})
        expect(res.status).toBe(200)
        expect(res.headers['content-type']).toBe(type)
        expect(res.body.equals(body)).toBe(true)
      }),
      {numRuns: 100},
    )
  })

  it('echoes exactly 1 MiB and refuses 2 MB with 413 JSON', async () => {
    const mib = Buffer.alloc(1024 * 1024, 'a')
    const ok = await call(node.port, 'POST', '/echo', {headers: bearer(TOKEN), body: mib})
    expect(ok.status).toBe(200)
    expect(ok.body.equals(mib)).toBe(true)
    const big = await call(node.port, 'POST', '/echo', {headers: bearer(TOKEN), body: Buffer.alloc(2_000_000, 'b')})
    expect(big.status).toBe(413)
    expect(big.json).toMatchObject({error: true, msg: expect.stringMatching(/too large/)})
    expect((await call(node.port, 'GET', '/healthz')).status).toBe(200)
  })

  it('requires the token', async () => {
    const res = await call(node.port, 'POST', '/echo', {body: 'hi'})
    expect(res.status).toBe(401)
    expect(res.json).toMatchObject({error: true})
  })
})

describe('peerlink echo', () => {
  let node: Awaited<ReturnType<typeof startNode>>
  const env = cliEnv({PEERLINK_TOKEN: TOKEN})

  beforeAll(async () => {
    node = await startNode(['echoer', '--port', '0', '--no-repl', '--token', TOKEN])
  })
  afterAll(async () => {
    node.kill('SIGTERM')
    await node.exited
  })

  it('prints the answer and exits 0 when it equals the message (ws:// URL, words joined by spaces)', async () => {
    const res = await runCli(['echo', node.url, 'héllo', 'big', 'wörld'], {env})
    expect(res.stderr).toBe('')
    expect(res.stdout).toBe('héllo big wörld\n')
    expect(res.code).toBe(0)
  })

  it('takes the http:// base as well, and the token from --token', async () => {
    const res = await runCli(['echo', `http://127.0.0.1:${node.port}`, 'hi', '--token', TOKEN])
    expect(res.stdout).toBe('hi\n')
    expect(res.code).toBe(0)
  })

  it('says in one line that it was refused (401) and exits 1', async () => {
    const res = await runCli(['echo', node.url, 'hi', '--token', 'wrong'])
    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toMatch(/^error: .*401.*token/)
  })

  it('says in one line that nothing answers and exits 1', async () => {
    const res = await runCli(['echo', 'ws://127.0.0.1:1/ws', 'hi'], {env})
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/^error: 127.0.0.1:1: connection refused.*\n$/)
  })

  it('gives flag errors one line and exit 2', async () => {
    for (const args of [['echo', 'ftp://x', 'hi'], ['echo', node.url], ['echo', node.url, 'hi', '--count', '0']]) {
      const res = await runCli(args, {env})
      expect(res.code, args.join(' ')).toBe(2)
      expect(res.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
  })

  it('passes 500 concurrent verified echoes', async () => {
    const res = await runCli(['echo', node.url, 'hi', '--count', '500', '--concurrency', '500'], {env})
    expect(res.stderr).toBe('')
    expect(res.stdout).toMatch(/^500 echoes of 2 bytes: 500 ok, 0 failed in [\d.]+s \(\d+ req\/s\)\n$/)
    expect(res.code).toBe(0)
  })

  it('prints a JSON summary with --json', async () => {
    const res = await runCli(['echo', node.url, 'hi there', '--count', '20', '--concurrency', '4', '--json'], {env})
    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({count: 20, ok: 20, failed: 0, bytes: 8, url: `http://127.0.0.1:${node.port}/echo`})
  })

  it('counts failures, prints the summary and exits 1 when requests are refused', async () => {
    const res = await runCli(['echo', node.url, 'hi', '--count', '10', '--concurrency', '3', '--token', 'wrong'])
    expect(res.code).toBe(1)
    expect(res.stdout).toMatch(/0 ok, 10 failed/)
    expect(res.stderr).toMatch(/^error: 10 of 10 echoes failed; first: .*401/)
  })
})

import type {IncomingMessage, ServerResponse} from 'node:http'
import {describe, expect, it} from 'vitest'
import {createGuards, normalizeOrigin, originFailure, requestToken, TOKEN_WINDOW_BYTES, tokenMatcher, tokensEqual} from '../../src/http/auth.js'

function req(url: string, headers: Record<string, string> = {}): IncomingMessage {
  return {url, headers} as unknown as IncomingMessage
}

/** A stand-in response that records what the guard wrote. */
function res(): ServerResponse & {status?: number; body?: string; headersSet: Record<string, unknown>} {
  const r = {
    headersSet: {} as Record<string, unknown>,
    status: undefined as number | undefined,
    body: undefined as string | undefined,
    setHeader(k: string, v: unknown) {
      r.headersSet[k] = v
    },
    writeHead(status: number) {
      r.status = status
    },
    end(body: string) {
      r.body = body
    },
  }
  return r as unknown as ServerResponse & {status?: number; body?: string; headersSet: Record<string, unknown>}
}

describe('requestToken', () => {
  it('reads Authorization: Bearer, the Token header, and ?token= only where allowed', () => {
    expect(requestToken(req('/stats', {authorization: 'Bearer abc'}), false)).toBe('abc')
    expect(requestToken(req('/stats', {authorization: 'bearer   abc '}), false)).toBe('abc')
    expect(requestToken(req('/stats', {token: 'xyz'}), false)).toBe('xyz')
    expect(requestToken(req('/ws?token=q%20r'), true)).toBe('q r')
    expect(requestToken(req('/stats?token=q'), false)).toBeUndefined()
    expect(requestToken(req('/stats', {authorization: 'Basic abc'}), false)).toBeUndefined()
  })
})

describe('tokensEqual', () => {
  it('is true only for the same token, whatever the lengths', () => {
    expect(tokensEqual('secret', 'secret')).toBe(true)
    expect(tokensEqual('secret', 'secreT')).toBe(false)
    expect(tokensEqual('', 'secret')).toBe(false)
    expect(tokensEqual('secret-and-more', 'secret')).toBe(false)
  })

  it('is not fooled by the zero padding of its window, nor by its edge', () => {
    // zero bytes are what the window is padded with
    expect(tokensEqual('secret\0', 'secret')).toBe(false)
    expect(tokensEqual('secret', 'secret\0')).toBe(false)
    // a token filling the window exactly, and one with more after it (cut at the window's end)
    const full = 'x'.repeat(TOKEN_WINDOW_BYTES)
    expect(tokensEqual(full, full)).toBe(true)
    expect(tokensEqual(`${full}y`, full)).toBe(false)
    expect(tokensEqual(full.slice(1), full)).toBe(false)
    // characters of several bytes, and a character cut by the window's end
    expect(tokensEqual('sécret-ü', 'sécret-ü')).toBe(true)
    expect(tokensEqual('secret-u', 'sécret-ü')).toBe(false)
    expect(tokensEqual(`${'x'.repeat(TOKEN_WINDOW_BYTES - 1)}é`, full)).toBe(false)
    // past the window: hashed, still exact
    const long = `${full}-and-more`
    expect(tokensEqual(long, long)).toBe(true)
    expect(tokensEqual(`${long}!`, long)).toBe(false)
    expect(tokensEqual(full, long)).toBe(false)
  })

  it('answers each call on its own: a matcher reused after a longer token still matches', () => {
    const matches = tokenMatcher('secret')
    expect(matches('secret-and-a-much-longer-tail')).toBe(false)
    expect(matches('secret')).toBe(true)
    expect(matches('')).toBe(false)
    expect(matches('secret')).toBe(true)
  })
})

describe('origin check', () => {
  it('accepts no Origin, the node\'s own origin and listed ones; refuses the rest', () => {
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000'}), false, [])).toBeUndefined()
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'http://127.0.0.1:9000'}), false, [])).toBeUndefined()
    expect(originFailure(req('/ws', {host: 'LocalHost:443', origin: 'https://localhost'}), true, [])).toBeUndefined()
    // scheme, host and port all count
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'https://127.0.0.1:9000'}), false, [])).toMatch(/not allowed/)
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'http://127.0.0.1:9001'}), false, [])).toMatch(/not allowed/)
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'http://localhost:9000'}), false, [])).toMatch(/not allowed/)
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'null'}), false, [])).toMatch(/not allowed/)
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'http://app.test:3000'}), false, ['http://app.test:3000'])).toBeUndefined()
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'http://app.test:3001'}), false, ['http://app.test:3000'])).toMatch(/--allow-origin/)
  })

  it('allows Origin: null (a file:// page, a sandboxed iframe) only when "null" is listed', () => {
    const nullOrigin = req('/ws', {host: '127.0.0.1:9000', origin: 'null'})
    expect(originFailure(nullOrigin, false, ['null'])).toBeUndefined()
    expect(originFailure(nullOrigin, false, ['http://app.test:3000'])).toMatch(/allow it with --allow-origin null/)
    // listing null lets in no real origin
    expect(originFailure(req('/ws', {host: '127.0.0.1:9000', origin: 'http://evil.test'}), false, ['null'])).toMatch(/not allowed/)
  })

  it('treats an http:// origin sent to a wss node as another origin, naming the flag that allows it', () => {
    expect(originFailure(req('/ws', {host: '127.0.0.1:9443', origin: 'http://127.0.0.1:9443'}), true, [])).toMatch(/--allow-origin http:\/\/127\.0\.0\.1:9443.*https:\/\/127\.0\.0\.1:9443/)
  })

  it('normalizes origins and rejects what is not one', () => {
    expect(normalizeOrigin('HTTP://Example.COM:80')).toBe('http://example.com')
    expect(normalizeOrigin('ftp://example.com')).toBeUndefined()
    expect(normalizeOrigin('not a url')).toBeUndefined()
  })
})

describe('guards', () => {
  const guards = createGuards({token: 'T', tls: false, allowedOrigins: []})

  it('checks the token before the Origin on an upgrade (401 before 403)', () => {
    expect(guards.checkUpgrade(req('/ws', {host: 'h:1', origin: 'http://evil.test'}))?.status).toBe(401)
    expect(guards.checkUpgrade(req('/ws?token=T', {host: 'h:1', origin: 'http://evil.test'}))?.status).toBe(403)
    expect(guards.checkUpgrade(req('/ws?token=T', {host: 'h:1'}))).toBeUndefined()
    expect(guards.checkUpgrade(req('/ws?token=wrong', {host: 'h:1'}))?.status).toBe(401)
  })

  it('answers 401 JSON for every route but /healthz', () => {
    const r = res()
    expect(guards.guardRequest(req('/stats'), r)).toBe(true)
    expect(r.status).toBe(401)
    expect(JSON.parse(r.body as string)).toMatchObject({error: true})
    expect(guards.guardRequest(req('/nowhere'), res())).toBe(true)
    expect(guards.guardRequest(req('/healthz'), res())).toBe(false)
    expect(guards.guardRequest(req('/stats', {authorization: 'Bearer T'}), res())).toBe(false)
    expect(guards.guardRequest(req('/stats?token=T'), res())).toBe(true)
  })

  it('lets everything through with auth off, but still checks the Origin', () => {
    const open = createGuards({token: undefined, tls: false, allowedOrigins: []})
    expect(open.guardRequest(req('/stats'), res())).toBe(false)
    expect(open.checkUpgrade(req('/ws', {host: 'h:1'}))).toBeUndefined()
    expect(open.checkUpgrade(req('/ws', {host: 'h:1', origin: 'http://evil.test'}))?.status).toBe(403)
  })
})

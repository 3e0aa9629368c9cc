import {describe, expect, it} from 'vitest'
import {nodeAddress} from '../../src/client/urls.js'

describe('nodeAddress: the one URL rule of every client command', () => {
  it('takes ws, wss, http and https alike: the scheme says plain or TLS', () => {
    for (const [input, ws, http] of [
      ['ws://127.0.0.1:8080/ws', 'ws://127.0.0.1:8080/ws', 'http://127.0.0.1:8080'],
      ['http://127.0.0.1:8080', 'ws://127.0.0.1:8080/ws', 'http://127.0.0.1:8080'],
      ['wss://node.test:9443/ws', 'wss://node.test:9443/ws', 'https://node.test:9443'],
      ['https://node.test:9443', 'wss://node.test:9443/ws', 'https://node.test:9443'],
      ['HTTP://[::1]:80', 'ws://[::1]/ws', 'http://[::1]'],
    ]) {
      expect(nodeAddress(input), input).toMatchObject({ws, http})
    }
  })

  it('defaults only an absent path to /ws, and keeps an explicit one as given (/, /ws/, /other)', () => {
    expect(nodeAddress('ws://h:1').ws).toBe('ws://h:1/ws')
    expect(nodeAddress('ws://h:1?x=1').ws).toBe('ws://h:1/ws?x=1')
    expect(nodeAddress('ws://h:1/').ws).toBe('ws://h:1/')
    expect(nodeAddress('ws://h:1/ws/').ws).toBe('ws://h:1/ws/')
    expect(nodeAddress('http://h:1/relay/socket').ws).toBe('ws://h:1/relay/socket')
    // HTTP routes live at the root of the node whatever the path
    expect(nodeAddress('ws://h:1/relay/socket').http).toBe('http://h:1')
  })

  it('takes ?token=T as the token for every command, and keeps the query on the WebSocket URL', () => {
    expect(nodeAddress('ws://h:1/ws?token=abc')).toEqual({ws: 'ws://h:1/ws?token=abc', http: 'http://h:1', token: 'abc'})
    expect(nodeAddress('http://h:1?token=a%20b&x=1')).toEqual({ws: 'ws://h:1/ws?token=a%20b&x=1', http: 'http://h:1', token: 'a b'})
    expect(nodeAddress('ws://h:1/ws').token).toBeUndefined()
  })

  it('drops a fragment, which a WebSocket URL may not have', () => {
    expect(nodeAddress('ws://h:1/ws#top').ws).toBe('ws://h:1/ws')
  })

  it('refuses what is not an http(s) or ws(s) URL with one line naming the rule', () => {
    expect(() => nodeAddress('ftp://h:1')).toThrow(/must start with http:\/\/, https:\/\/, ws:\/\/ or wss:\/\//)
    expect(() => nodeAddress('localhost:8080')).toThrow(/must start with/)
    expect(() => nodeAddress('not a url')).toThrow(/invalid URL/)
  })
})

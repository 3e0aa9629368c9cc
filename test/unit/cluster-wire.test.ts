import {describe, expect, it} from 'vitest'
import {CLUSTER_NAME_PATTERN, decodeHeartbeat, decodeMember, encodeHeartbeat, encodeMember, subjects, type MemberMessage} from '../../src/cluster/wire.js'

describe('what cluster members say over NATS', () => {
  it('keeps every subject of a cluster under peerlink.<name>.relay, apart from the load tester', () => {
    const s = subjects('blue')
    expect(s.heartbeat).toBe('peerlink.blue.relay.heartbeat')
    expect(s.member('abc')).toBe('peerlink.blue.relay.member.abc')
    expect(s.heartbeat.startsWith('peerlink.load.')).toBe(false)
  })

  it('accepts a cluster name only when it is one subject token', () => {
    for (const ok of ['peerlink', 'a-b_c', 'X9']) expect(CLUSTER_NAME_PATTERN.test(ok)).toBe(true)
    for (const bad of ['', 'a.b', 'a b', 'a*', 'a>', 'x'.repeat(65)]) expect(CLUSTER_NAME_PATTERN.test(bad)).toBe(false)
  })

  it('round-trips member messages whose names and texts hold any character', () => {
    const text = 'line one\nline "two" ✓ \u0000'
    const messages: MemberMessage[] = [
      {kind: 'message', from: 's1', origin: 'alice\n', text},
      {kind: 'ok', from: 's2', text},
      {kind: 'took', from: 's3', origin: '127.0.0.1:5000', receiver: 'n2/bob', text},
    ]
    for (const m of messages) expect(decodeMember(encodeMember(m))).toEqual(m)
  })

  it('drops malformed member messages instead of throwing', () => {
    for (const bad of ['', 'nope', '{}', '["m","a"]', '["m","a","b",3]', '["z","a","b"]', 'null']) expect(decodeMember(bad)).toBeUndefined()
  })

  it('round-trips heartbeats and refuses ones with bad counts', () => {
    const h = {id: 's1', name: 'n1', clients: 7, pending: 0, prev: 's0', leaving: true as const}
    expect(decodeHeartbeat(encodeHeartbeat(h))).toEqual(h)
    expect(decodeHeartbeat(encodeHeartbeat({id: 's1', name: 'n1', clients: 1, pending: 2}))).toEqual({id: 's1', name: 'n1', clients: 1, pending: 2})
    for (const bad of ['{"id":"s","name":"n","clients":-1,"pending":0}', '{"id":"s","name":"n","clients":1.5,"pending":0}', '{"id":1,"name":"n","clients":1,"pending":0}', '[]', 'x']) {
      expect(decodeHeartbeat(bad)).toBeUndefined()
    }
  })
})

import {describe, expect, it} from 'vitest'
import {AGENT_PROTOCOL_VERSION, checkPrepare, chooseAgents, clockOffsetMs, decodeMessage, encodeMessage, loadSubjects, type Here} from '../../src/load/agent-protocol.js'

const here = (agent: string, busy = false, v = AGENT_PROTOCOL_VERSION): Here => ({type: 'here', v, agent, name: agent, host: 'h', cores: 2, busy})

describe('load agent protocol', () => {
  it('keeps its subjects under peerlink.load.<cluster>., apart from the cluster\'s own', () => {
    const s = loadSubjects('blue')
    expect(s.discover).toBe('peerlink.load.blue.discover')
    expect(s.agent('a1')).toBe('peerlink.load.blue.agent.a1')
    expect(s.progress('r1')).toBe('peerlink.load.blue.run.r1.progress')
    expect(s.result('r1')).toBe('peerlink.load.blue.run.r1.result')
  })

  it('estimates an agent\'s clock offset from the probe with the shortest round trip', () => {
    // the agent's clock is 1000 ms ahead; the second probe had the shortest round trip
    const samples = [
      {sentMs: 0, receivedMs: 40, remoteMs: 1030},
      {sentMs: 100, receivedMs: 102, remoteMs: 1101},
      {sentMs: 200, receivedMs: 260, remoteMs: 1210},
    ]
    expect(clockOffsetMs(samples)).toBe(1000)
    expect(() => clockOffsetMs([])).toThrow()
  })

  it('takes idle agents of its own version, once each, at most as many as wanted', () => {
    const answers = [here('a'), here('b', true), here('c'), here('a'), here('old', false, 0), here('d')]
    expect(chooseAgents(answers, undefined).map((a) => a.agent)).toEqual(['a', 'c', 'd'])
    expect(chooseAgents(answers, 2).map((a) => a.agent)).toEqual(['a', 'c'])
  })

  it('ignores answers whose id could not be a subject token', () => {
    const bad = [{...here('x'), agent: 'a.b'}, {...here('y'), agent: 5 as unknown as string}, {...here('z'), name: undefined as unknown as string}, here('ok')]
    expect(chooseAgents(bad, undefined).map((a) => a.agent)).toEqual(['ok'])
  })

  it('lets an agent refuse a prepare it cannot trust, and accept a sound one', () => {
    const good = {
      type: 'prepare' as const,
      runId: 'r1',
      spec: {targets: ['ws://127.0.0.1:1/ws'], rampMs: 1000, ackDelay: {minMs: 0, maxMs: 10}, ackTimeoutMs: 5000, retries: 10, finishTimeoutMs: 90_000, prefix: 'load-r1'},
      share: {offset: 1, stride: 3, count: 100},
    }
    expect(checkPrepare(good)).toBeNull()
    const bad = (patch: Record<string, unknown>, spec: Record<string, unknown> = {}) => checkPrepare({...good, ...patch, spec: {...good.spec, ...spec}} as never)
    expect(bad({}, {targets: []})).toBe('bad targets')
    expect(bad({}, {targets: ['http://x']})).toBe('bad target "http://x"')
    expect(bad({}, {targets: ['not a url']})).toBe('bad target "not a url"')
    expect(bad({}, {rampMs: -1})).toBe('bad durations')
    expect(bad({}, {ackDelay: {minMs: 0}})).toBe('bad ack delay')
    expect(bad({}, {retries: 1.5})).toBe('bad retries')
    expect(bad({}, {prefix: 'a b'})).toBe('bad prefix')
    expect(bad({share: {offset: 0, stride: 0, count: 1}})).toBe('bad share')
    expect(bad({share: {offset: 0, stride: 1, count: 1e12}})).toBe('bad share')
    expect(bad({runId: 'x.y'})).toBe('bad run id')
    expect(checkPrepare({...good, spec: undefined} as never)).toBe('bad targets')
  })

  it('decodes only messages of the expected types and never throws', () => {
    const bytes = new TextEncoder().encode(encodeMessage({type: 'clock', nowMs: 5}))
    expect(decodeMessage(bytes, 'clock')).toEqual({type: 'clock', nowMs: 5})
    expect(decodeMessage(bytes, 'start')).toBeUndefined()
    expect(decodeMessage('not json', 'clock')).toBeUndefined()
    expect(decodeMessage('null', 'clock')).toBeUndefined()
    expect(decodeMessage('[1]', 'clock')).toBeUndefined()
  })
})

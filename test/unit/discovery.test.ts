import {describe, expect, it} from 'vitest'
import {normalizeWsUrl, planLinks} from '../../src/registry/discovery.js'

const OWN = 'ws://127.0.0.1:9001/ws'

describe('registry discovery plan', () => {
  it('dials every other node entry with a URL, never itself and never plain clients', () => {
    const plan = planLinks({
      list: {
        me: {role: 'node', url: OWN},
        b: {role: 'node', url: 'ws://127.0.0.1:9002/ws'},
        c: {role: 'node', url: 'wss://c.example:443/ws'},
        linus: {role: 'client', url: 'ws://192.1.1.1:1234/ws'},
        anon: {},
        nourl: {role: 'node'},
        bad: {role: 'node', url: 'http://127.0.0.1:9004'},
      },
      ownId: 'me',
      ownUrl: OWN,
      learned: [],
      fixed: [],
    })
    expect(plan.dial.sort()).toEqual(['ws://127.0.0.1:9002/ws', 'wss://c.example/ws'])
    expect(plan.drop).toEqual([])
  })

  it('does not dial itself under a stale entry with another id', () => {
    const plan = planLinks({list: {old: {role: 'node', url: 'ws://127.0.0.1:9001/ws/'}}, ownId: 'new', ownUrl: OWN, learned: [], fixed: []})
    expect(plan.dial).toEqual([])
  })

  it('does not dial a node it is linked to already, learned or by --peer', () => {
    const list = {b: {role: 'node', url: 'ws://127.0.0.1:9002/ws'}, c: {role: 'node', url: 'ws://127.0.0.1:9003/ws'}}
    const plan = planLinks({list, ownUrl: OWN, learned: ['ws://127.0.0.1:9002/ws'], fixed: ['ws://127.0.0.1:9003/ws']})
    expect(plan).toEqual({dial: [], drop: []})
  })

  it('drops a learned link whose entry left the registry', () => {
    const plan = planLinks({list: {b: {role: 'node', url: 'ws://127.0.0.1:9002/ws'}}, ownUrl: OWN, learned: ['ws://127.0.0.1:9002/ws', 'ws://127.0.0.1:9003/ws'], fixed: []})
    expect(plan).toEqual({dial: [], drop: ['ws://127.0.0.1:9003/ws']})
  })

  it('gives one link to two entries of one node', () => {
    const list = {old: {role: 'node', url: 'ws://127.0.0.1:9002/ws'}, new: {role: 'node', url: 'ws://127.0.0.1:9002/ws'}}
    expect(planLinks({list, ownUrl: OWN, learned: [], fixed: []}).dial).toEqual(['ws://127.0.0.1:9002/ws'])
  })

  it('normalizes ws URLs and refuses other schemes', () => {
    expect(normalizeWsUrl('ws://127.0.0.1:80/ws/')).toBe('ws://127.0.0.1/ws')
    expect(normalizeWsUrl('http://127.0.0.1/ws')).toBeUndefined()
    expect(normalizeWsUrl('not a url')).toBeUndefined()
  })
})

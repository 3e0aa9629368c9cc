import {describe, expect, it} from 'vitest'
import {Relay} from '../../src/node/relay.js'

/** Connections are plain strings; `closing` marks ones that sent or got a close frame. */
function setup(names: string[], random: () => number = Math.random) {
  const closing = new Set<string>()
  const relay = new Relay<string>((c) => !closing.has(c), random)
  for (const n of names) relay.add(n)
  return {relay, closing}
}

describe('relay bookkeeping', () => {
  it('forwards uniformly over all open connections, the sender included', () => {
    const {relay} = setup(['a', 'b', 'c', 'd'])
    const counts: Record<string, number> = {a: 0, b: 0, c: 0, d: 0}
    for (let i = 0; i < 4000; i++) counts[relay.message('a', `x${i}`) as string]++
    // each expected 1000; a 20% band is > 6 standard deviations wide
    for (const n of ['a', 'b', 'c', 'd']) {
      expect(counts[n]).toBeGreaterThan(800)
      expect(counts[n]).toBeLessThan(1200)
    }
  })

  it('never picks a closing connection', () => {
    const {relay, closing} = setup(['a', 'b', 'c'])
    closing.add('b')
    closing.add('c')
    for (let i = 0; i < 200; i++) expect(relay.message('a', `x${i}`)).toBe('a')
  })

  it('routes ok X to every origin waiting for X, then forgets them', () => {
    const {relay} = setup(['a', 'b', 'c'], () => 0.99)
    expect(relay.message('a', 'X')).toBe('c')
    expect(relay.message('b', 'X')).toBe('c')
    expect(relay.pending).toBe(1)
    expect(relay.ok('c', 'X')?.sort()).toEqual(['a', 'b'])
    expect(relay.pending).toBe(0)
    expect(relay.ok('c', 'X')).toEqual([])
  })

  it('re-forwards X to another open connection when its receiver closes before answering', () => {
    let next = 0.99
    const {relay} = setup(['a', 'b', 'c'], () => next)
    expect(relay.message('a', 'X')).toBe('c')
    next = 0.5
    const forwards = relay.remove('c')
    expect(forwards).toEqual([{to: 'b', text: 'X'}])
    expect(relay.ok('b', 'X')).toEqual(['a'])
  })

  it('does not re-forward X that another receiver still holds or nobody waits for', () => {
    let next = 0.99
    const {relay} = setup(['a', 'b', 'c'], () => next)
    relay.message('a', 'X') // → c
    next = 0.5
    relay.message('b', 'X') // → b holds it too
    expect(relay.remove('c')).toEqual([])
    relay.message('a', 'Y') // → b
    relay.remove('a') // Y's only origin left
    expect(relay.remove('b')).toEqual([])
    expect(relay.pending).toBe(0)
  })

  it('forgets an origin that closes, keeping X for the other origins', () => {
    const {relay} = setup(['a', 'b', 'c'], () => 0.99)
    relay.message('a', 'X')
    relay.message('b', 'X')
    relay.remove('a')
    expect(relay.ok('c', 'X')).toEqual(['b'])
  })

  it('returns to zero state when every connection has closed', () => {
    const {relay} = setup(['a', 'b', 'c', 'd'])
    for (let i = 0; i < 100; i++) relay.message(['a', 'b', 'c', 'd'][i % 4], `x${i % 10}`)
    for (const c of ['a', 'b', 'c', 'd']) relay.remove(c)
    expect(relay.connections).toBe(0)
    expect(relay.pending).toBe(0)
    expect(relay.pick()).toBeUndefined()
  })

  it('ignores an ok nobody waits for', () => {
    const {relay} = setup(['a'])
    expect(relay.ok('a', 'never sent')).toEqual([])
  })

  it('refuses an ok from a connection that does not hold X, and keeps X for its real receiver', () => {
    const {relay} = setup(['a', 'b', 'c'], () => 0.99)
    expect(relay.message('a', 'X')).toBe('c')
    expect(relay.ok('b', 'X')).toBeUndefined()
    expect(relay.pending).toBe(1)
    expect(relay.ok('c', 'X')).toEqual(['a'])
  })

  it('counts the messages each connection is waiting for', () => {
    const {relay} = setup(['a', 'b'], () => 0)
    relay.message('a', 'X')
    relay.message('a', 'Y')
    relay.message('b', 'Y')
    expect(relay.waitingFor('a')).toBe(2)
    expect(relay.waitingFor('b')).toBe(1)
    relay.ok('a', 'Y')
    expect(relay.waitingFor('a')).toBe(1)
    expect(relay.waitingFor('b')).toBe(0)
  })

  it('lets a chooser hand X to an endpoint that is never picked, and re-forwards when it leaves', () => {
    const closing = new Set<string>()
    let remote = true
    const relay = new Relay<string>((c) => !closing.has(c), () => 0, (_origin, local) => (remote ? 'member' : local()))
    relay.add('a')
    relay.add('b')
    expect(relay.message('a', 'X')).toBe('member')
    // a message from the member has it as its origin, and is picked locally
    remote = false
    relay.track('member')
    expect(relay.message('member', 'Z')).toBe('a')
    expect(relay.ok('a', 'Z')).toEqual(['member'])
    // the member dies: X goes to a local connection; the member is never picked
    expect(relay.remove('member')).toEqual([{to: 'a', text: 'X'}])
    for (let i = 0; i < 50; i++) expect(relay.pick()).not.toBe('member')
    expect(relay.connections).toBe(2)
  })

  it('tells who is stranded when X has no receiver, and lets a member take X back or give it back', () => {
    const stranded: Array<[string, string[]]> = []
    let target: string | undefined = 'member'
    const relay = new Relay<string>(() => true, () => 0, (_o, local) => target ?? local(), (text, origins) => void stranded.push([text, [...origins]]))
    relay.track('member')
    // handed X by the member, with nobody to take it: stranded names the member
    target = undefined
    expect(relay.message('member', 'X')).toBeUndefined()
    expect(stranded).toEqual([['X', ['member']]])
    relay.withdraw('member', 'X')
    expect(relay.pending).toBe(0)
    // a local origin's X handed to the member comes back: it goes to the next receiver
    relay.add('a')
    target = 'member'
    expect(relay.message('a', 'Y')).toBe('member')
    target = undefined
    expect(relay.release('member', 'Y')).toEqual({to: 'a', text: 'Y'})
    expect(relay.ok('member', 'Y')).toBeUndefined()
    expect(relay.ok('a', 'Y')).toEqual(['a'])
    expect(relay.pending).toBe(0)
  })

  it('does not pick a congested connection while an open one is free of that, and picks among them when none is', () => {
    const congested = new Set<string>(['b', 'c'])
    const relay = new Relay<string>(() => true, Math.random, undefined, undefined, (c) => congested.has(c))
    for (const n of ['a', 'b', 'c']) relay.add(n)
    for (let i = 0; i < 200; i++) expect(relay.message('a', `x${i}`)).toBe('a')
    congested.add('a')
    const picked = new Set<string>()
    for (let i = 0; i < 200; i++) picked.add(relay.message('a', `y${i}`) as string)
    // a slow reader still gets messages when every connection is one (the server closes it if it falls far behind)
    expect([...picked].sort()).toEqual(['a', 'b', 'c'])
  })
})

import {describe, expect, it} from 'vitest'
import {RELAYED_SAMPLES_PER_SECOND, type NodeEvent} from '../../src/node/events.js'
import {ClientRelay, type Endpoint, type RelayFabric} from '../../src/node/relaying.js'

/** A connection that records what it is sent. */
function conn(name: string): Endpoint & {sent: string[]} {
  const sent: string[] = []
  return {name, isOpen: true, sent, send: (t) => sent.push(t)}
}

describe('the client relay with a fabric (plain endpoints, no sockets)', () => {
  it('hands X to a member through hand() and reports nothing itself; the member acknowledges like a receiver', () => {
    const handed: Array<[string, string]> = []
    const member = {...conn('m'), hand: (text: string, fromName: string) => void handed.push([text, fromName])}
    const events: NodeEvent[] = []
    const fabric: RelayFabric<Endpoint> = {choose: () => member}
    const relay = new ClientRelay<Endpoint>({report: (e) => events.push(e), fabric})
    const a = conn('a')
    relay.add(a)
    expect(relay.message(a, 'X')).toBe(member)
    expect(handed).toEqual([['X', 'a']])
    expect(events).toEqual([])
    relay.ok(member, 'X')
    expect(a.sent).toEqual(['ok X'])
    expect(relay.pending).toBe(0)
  })

  it('takes a message from a member with its node/conn name for the event, and tells the fabric when connections come and go', () => {
    let changes = 0
    const member = {...conn('m'), hand: () => {}}
    const events: NodeEvent[] = []
    const relay = new ClientRelay<Endpoint>({report: (e) => events.push(e), fabric: {choose: (_o, local) => local(), changed: () => void changes++}})
    const a = conn('a')
    relay.add(a)
    relay.track(member)
    expect(relay.message(member, 'Y', 'm/alice')).toBe(a)
    expect(events).toEqual([{event: 'message_relayed', from: 'm/alice', text: 'Y', to: 'a'}])
    relay.ok(a, 'Y')
    expect(member.sent).toEqual(['ok Y'])
    relay.remove(a)
    expect(changes).toBe(2)
    expect(relay.connections).toBe(0)
  })

  it('reports a message another member took through the same gate as its own, and counts it for the folding renderer, not for relayedTotal', () => {
    const events: NodeEvent[] = []
    const relay = new ClientRelay<Endpoint>({report: (e) => events.push(e), fabric: {choose: (_o, local) => local()}})
    relay.relayEvents = 'none'
    relay.relayedElsewhere('alice', 'X', 'n2/bob')
    expect(events).toEqual([])
    relay.relayEvents = 'sampled'
    for (let i = 0; i < 25; i++) relay.relayedElsewhere('alice', `Y${i}`, 'n2/bob')
    // at most the samples of one second
    expect(events.length).toBe(RELAYED_SAMPLES_PER_SECOND)
    expect(events[0]).toEqual({event: 'message_relayed', from: 'alice', text: 'Y0', to: 'n2/bob'})
    expect(relay.relayedEventsTotal).toBe(26)
    expect(relay.relayedTotal).toBe(0)
    relay.relayEvents = 'every'
    relay.relayedElsewhere('alice', 'Z', 'n2/bob')
    expect(events.at(-1)).toEqual({event: 'message_relayed', from: 'alice', text: 'Z', to: 'n2/bob'})
  })

  it('does not cap what a member has waiting (it carries all its connections\' messages)', () => {
    const member = {...conn('m'), hand: () => {}}
    const relay = new ClientRelay<Endpoint>({report: () => {}, maxPendingPerConnection: 2})
    const a = conn('a')
    relay.add(a)
    relay.track(member)
    for (let i = 0; i < 5; i++) expect(relay.message(member, `x${i}`)).toBe(a)
    expect(member.sent).toEqual([])
    const b = conn('b')
    relay.add(b)
    for (let i = 0; i < 3; i++) relay.message(b, `y${i}`)
    expect(b.sent.filter((f) => f.startsWith('error ')).length).toBe(1)
  })
})

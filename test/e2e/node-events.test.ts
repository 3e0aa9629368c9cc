import {afterEach, describe, expect, it} from 'vitest'
import {RELAYED_SAMPLES_PER_SECOND, type NodeEvent, type RelayEvents} from '../../src/node/events.js'
import {PeerNode} from '../../src/node/node.js'
import {openClients, waitUntil} from '../helpers/ws.js'

/**
 * How many client connection events a node reports, by what its listeners
 * need (RelayEvents): in-process nodes on port 0, real clients.
 */

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function nodeWith(need: RelayEvents): Promise<{node: PeerNode; events: NodeEvent[]}> {
  const node = new PeerNode({name: 'counted', host: '127.0.0.1', port: 0, peers: [], graceMs: 0, ackTimeoutMs: 5000, ackDelayMs: 0, maxPayloadBytes: 1 << 20})
  const events: NodeEvent[] = []
  node.listen((ev) => events.push(ev), need)
  await node.start()
  cleanup.push(() => node.stop(0))
  return {node, events}
}

const N = 200
type ConnEvent = Extract<NodeEvent, {event: 'client_connected' | 'client_disconnected'}>
const of = (events: NodeEvent[], kind: ConnEvent['event']): ConnEvent[] => events.filter((e): e is ConnEvent => e.event === kind)

describe("a node's client connection events", () => {
  it('are every one, with the address, for a listener that needs every event', async () => {
    const {node, events} = await nodeWith('every')
    const clients = await openClients(node.url, N)
    await waitUntil(() => of(events, 'client_connected').length === N, 10_000, 'every client_connected')
    for (const ev of of(events, 'client_connected')) expect(ev).toMatchObject({ip: '127.0.0.1', port: expect.any(Number), name: expect.stringMatching(/^127\.0\.0\.1:\d+$/)})
    await Promise.all(clients.map((c) => c.close()))
    await waitUntil(() => of(events, 'client_disconnected').length === N, 10_000, 'every client_disconnected')
    // a disconnect names the client as its connect did
    const named = new Set(of(events, 'client_connected').map((e) => e.name))
    for (const ev of of(events, 'client_disconnected')) expect(named.has(ev.name)).toBe(true)
  })

  it('are a sampled few a second for a listener that needs sampled events, each named as when it connected; the counts have them all', async () => {
    const {node, events} = await nodeWith('sampled')
    const startedMs = Date.now()
    const clients = await openClients(node.url, N)
    await waitUntil(() => node.foldedTotals().connected === N, 10_000, 'every connection counted')
    await Promise.all(clients.map((c) => c.close()))
    await waitUntil(() => node.foldedTotals().disconnected === N, 10_000, 'every disconnection counted')
    const windows = Math.ceil((Date.now() - startedMs) / 1000) + 1
    const connected = of(events, 'client_connected')
    const disconnected = of(events, 'client_disconnected')
    expect(connected.length).toBeGreaterThan(0)
    expect(connected.length).toBeLessThanOrEqual(RELAYED_SAMPLES_PER_SECOND * windows)
    expect(connected.length).toBeLessThan(N)
    expect(disconnected.length).toBeGreaterThan(0)
    expect(disconnected.length).toBeLessThanOrEqual(RELAYED_SAMPLES_PER_SECOND * windows)
    // only clients named while open are reported leaving, by the name they connected with
    const named = new Set(connected.map((e) => e.name))
    for (const ev of disconnected) expect(named.has(ev.name)).toBe(true)
  })
})

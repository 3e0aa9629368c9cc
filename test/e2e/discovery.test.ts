import {afterEach, describe, expect, it} from 'vitest'
import {PeerNode} from '../../src/node/node.js'
import {Discovery} from '../../src/registry/discovery.js'

/** An in-process node on port 0 that serves as the registry. */
async function registryNode(): Promise<PeerNode> {
  const node = new PeerNode({name: 'R', host: '127.0.0.1', port: 0, peers: [], graceMs: 0, ackTimeoutMs: 5000, ackDelayMs: 0, maxPayloadBytes: 1 << 20})
  await node.start()
  return node
}

/** A discovery whose host records what it was asked to do instead of dialing. */
function recordingDiscovery(registry: PeerNode, advertiseUrl = 'ws://127.0.0.1:9/ws') {
  const seen = {dialed: [] as string[], dropped: [] as string[], errors: [] as string[], linked: new Set<string>()}
  const discovery = new Discovery(
    {registryUrl: registry.url, advertiseUrl, name: 'me', client: {token: 't0k'}},
    {
      dial: (url) => {
        seen.dialed.push(url)
        seen.linked.add(url)
      },
      drop: (url) => {
        seen.dropped.push(url)
        seen.linked.delete(url)
      },
      learnedUrls: () => seen.linked,
      fixedUrls: () => [],
      info: () => {},
      error: (msg) => void seen.errors.push(msg),
    },
  )
  return {discovery, seen}
}

const opened: Array<{stop: () => Promise<void>}> = []
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.stop()
})

describe('registry discovery against a real registry', () => {
  it('registers as a node with its advertised URL and leaves at stop', async () => {
    const registry = await registryNode()
    opened.push({stop: () => registry.stop(0)})
    const {discovery} = recordingDiscovery(registry, 'ws://10.0.0.7:9100/ws')
    await discovery.round()
    const id = discovery.id as string
    expect(registry.table.toJson()[id]).toMatchObject({ip: '10.0.0.7', port: 9100, name: 'me', role: 'node', url: 'ws://10.0.0.7:9100/ws'})
    await discovery.stop()
    expect(registry.table.get(id)).toBeUndefined()
  })

  it('registers again when the registry forgot it', async () => {
    const registry = await registryNode()
    opened.push({stop: () => registry.stop(0)})
    const {discovery, seen} = recordingDiscovery(registry)
    opened.push(discovery)
    await discovery.round()
    const first = discovery.id as string
    registry.table.remove(first) // as if pruned
    await discovery.round()
    expect(discovery.id).toBeDefined()
    expect(discovery.id).not.toBe(first)
    expect(registry.table.get(discovery.id as string)).toBeDefined()
    expect(seen.errors).toEqual([])
  })

  it('dials node entries that appear and drops them when they leave; ignores clients', async () => {
    const registry = await registryNode()
    opened.push({stop: () => registry.stop(0)})
    const {discovery, seen} = recordingDiscovery(registry)
    opened.push(discovery)
    const other = registry.table.register({ip: '127.0.0.1', port: 9200, name: 'other', role: 'node', url: 'ws://127.0.0.1:9200/ws'})
    registry.table.register({ip: '127.0.0.1', port: 9300, name: 'linus', url: 'ws://127.0.0.1:9300/ws'})
    await discovery.round()
    expect(seen.dialed).toEqual(['ws://127.0.0.1:9200/ws'])
    await discovery.round()
    expect(seen.dialed).toHaveLength(1)
    registry.table.remove(other)
    await discovery.round()
    expect(seen.dropped).toEqual(['ws://127.0.0.1:9200/ws'])
    expect(seen.linked.size).toBe(0)
  })

  it('reports an unreachable registry once, not every round', async () => {
    const registry = await registryNode()
    const url = registry.url
    await registry.stop(0)
    const errors: string[] = []
    const discovery = new Discovery(
      {registryUrl: url, advertiseUrl: 'ws://127.0.0.1:9/ws', name: 'me', client: {token: 't0k'}},
      {dial: () => {}, drop: () => {}, learnedUrls: () => [], fixedUrls: () => [], info: () => {}, error: (m) => void errors.push(m)},
    )
    await discovery.round()
    await discovery.round()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('connection refused')
    await discovery.stop()
  })
})

import {describe, expect, it} from 'vitest'
import {NodeMetrics, PENDING_LATENCIES_MAX} from '../../src/metrics/metrics.js'
import {parsePrometheus, sampleValue} from '../helpers/prom.js'

function fixture() {
  const stats = {name: 'n1', connections: 4, peers: 1, pending: 2, outbox: 3, clients: 5}
  // the relay's own count of relayed messages, read at scrape time
  const source = {stats: () => stats, relayedTotal: 0}
  const metrics = new NodeMetrics(source)
  const read = async () => parsePrometheus(await metrics.metrics())
  return {stats, source, metrics, read}
}

describe('NodeMetrics', () => {
  it('reads the gauges from the node at scrape time', async () => {
    const {stats, read} = fixture()
    let m = await read()
    expect(sampleValue(m, 'peerlink_connections')).toBe(4)
    expect(sampleValue(m, 'peerlink_peers_up')).toBe(1)
    expect(sampleValue(m, 'peerlink_relay_pending')).toBe(2)
    expect(sampleValue(m, 'peerlink_outbox')).toBe(3)
    expect(sampleValue(m, 'peerlink_clients')).toBe(5)
    expect(sampleValue(m, 'peerlink_node_info', {name: 'n1'})).toBe(1)
    stats.connections = 0
    m = await read()
    expect(sampleValue(m, 'peerlink_connections')).toBe(0)
  })

  it('counts message events, resends and acknowledgement latency; relayed messages from the relay\'s count, not its events', async () => {
    const {source, metrics, read} = fixture()
    source.relayedTotal = 5
    // a relayed event is counted by the relay already: counting it here too would count it twice
    for (let i = 0; i < 3; i++) metrics.event({event: 'message_relayed', from: 'a', to: 'b', text: `x${i}`})
    metrics.event({event: 'message_sent', text: 'hi', to: 'B', attempt: 1})
    metrics.event({event: 'message_sent', text: 'hi', to: 'B', attempt: 2})
    metrics.event({event: 'message_acked', text: 'hi', to: 'B', rtt_ms: 7})
    metrics.event({event: 'message_failed', text: 'lost', to: 'B', reason: 'node stopped'})
    metrics.event({event: 'message_received', from: 'B', text: 'yo'})
    metrics.event({event: 'message_received', from: 'B', text: 'yo', repeat: true})
    const m = await read()
    expect(sampleValue(m, 'peerlink_messages_relayed_total')).toBe(5)
    expect(sampleValue(m, 'peerlink_messages_sent_total')).toBe(2)
    expect(sampleValue(m, 'peerlink_messages_resent_total')).toBe(1)
    expect(sampleValue(m, 'peerlink_messages_acked_total')).toBe(1)
    expect(sampleValue(m, 'peerlink_messages_failed_total')).toBe(1)
    expect(sampleValue(m, 'peerlink_messages_received_total')).toBe(2)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_count')).toBe(1)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_sum')).toBeCloseTo(0.007)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_bucket', {le: '0.005'})).toBe(0)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_bucket', {le: '0.01'})).toBe(1)
  })

  it('keeps counting between scrapes: a counter never goes back', async () => {
    const {source, read} = fixture()
    source.relayedTotal = 1
    expect(sampleValue(await read(), 'peerlink_messages_relayed_total')).toBe(1)
    expect(sampleValue(await read(), 'peerlink_messages_relayed_total')).toBe(1)
    source.relayedTotal = 2
    expect(sampleValue(await read(), 'peerlink_messages_relayed_total')).toBe(2)
  })

  it('counts errors by kind, every kind present from the start', async () => {
    const {metrics, read} = fixture()
    let m = await read()
    for (const kind of ['bad_frame', 'remote', 'accept', 'registry', 'other']) expect(sampleValue(m, 'peerlink_errors_total', {kind})).toBe(0)
    metrics.event({event: 'error', msg: 'bad frame from x: ...', kind: 'bad_frame'})
    metrics.event({event: 'error', msg: 'B says: no', kind: 'remote'})
    metrics.event({event: 'error', msg: 'something'})
    m = await read()
    expect(sampleValue(m, 'peerlink_errors_total', {kind: 'bad_frame'})).toBe(1)
    expect(sampleValue(m, 'peerlink_errors_total', {kind: 'remote'})).toBe(1)
    expect(sampleValue(m, 'peerlink_errors_total', {kind: 'other'})).toBe(1)
    expect(sampleValue(m, 'peerlink_errors_total', {kind: 'accept'})).toBe(0)
  })

  it('counts what happened before the first scrape (prom-client loads then): errors, and every ack latency, past the pending bound too', async () => {
    const {metrics, read} = fixture()
    metrics.event({event: 'error', msg: 'bad frame from x: ...', kind: 'bad_frame'})
    metrics.event({event: 'error', msg: 'too slow', kind: 'too_slow'})
    // more than the node keeps waiting: past the bound it loads prom-client itself and hands them on
    const n = PENDING_LATENCIES_MAX * 2 + 7
    for (let i = 0; i < n; i++) metrics.event({event: 'message_acked', text: `m${i}`, to: 'B', rtt_ms: i % 2 === 0 ? 2 : 40})
    const m = await read()
    expect(sampleValue(m, 'peerlink_errors_total', {kind: 'bad_frame'})).toBe(1)
    expect(sampleValue(m, 'peerlink_errors_total', {kind: 'too_slow'})).toBe(1)
    expect(sampleValue(m, 'peerlink_errors_total', {kind: 'other'})).toBe(0)
    expect(sampleValue(m, 'peerlink_messages_acked_total')).toBe(n)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_count')).toBe(n)
    const fast = Math.ceil(n / 2)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_bucket', {le: '0.0025'})).toBe(fast)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_bucket', {le: '0.05'})).toBe(n)
    expect(sampleValue(m, 'peerlink_ack_latency_seconds_sum')).toBeCloseTo(fast * 0.002 + (n - fast) * 0.04)
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
  })
})

import {addConsoleRoutes, ConsoleEvents, EVENTS_PATH, type ConsoleSource} from '../http/console.js'
import {addMetricsRoute} from '../http/metrics.js'
import type {Router} from '../http/router.js'
import {NodeMetrics, type GaugeSource} from '../metrics/metrics.js'
import type {NodeEvent, RelayEvents} from './events.js'
import type {NodeServer} from './server.js'

/** What the console and the metrics need of the node (structural, so this file does not import node.ts). */
export interface WebHost extends GaugeSource {
  readonly name: string
  readonly url: string
  readonly server: NodeServer
  readonly router: Router
  peerInfo(): object[]
  send(text: string): Array<{name: string; url: string; up: boolean}>
  /** every event; `relayed` says how many `message_relayed` the listener needs (see PeerNode.listen) */
  listen(listener: (ev: NodeEvent) => void, relayed?: RelayEvents): () => void
}

/**
 * Serves the web console (`GET /`, `/console/*`, `POST /send`, the `/events`
 * stream) and `GET /metrics` for `node`: the metrics count its events from
 * now on (relayed messages they read from the relay's count), the console
 * streams them while a page is open, every relayed message included.
 */
export function serveConsoleAndMetrics(node: WebHost): NodeMetrics {
  const metrics = new NodeMetrics(node)
  node.listen((ev) => metrics.event(ev), 'none')
  metrics.watchSockets(node.server.http)
  addMetricsRoute(node.router, metrics)
  const source: ConsoleSource = {
    name: node.name,
    get url() {
      return node.url
    },
    stats: () => node.stats(),
    peerInfo: () => node.peerInfo(),
    send: (text) => node.send(text),
    subscribe: (listener) => node.listen(listener, 'every'),
    relayedTotal: () => node.relayedTotal,
  }
  addConsoleRoutes(node.router, source)
  node.server.addEndpoint(EVENTS_PATH, new ConsoleEvents(source))
  return metrics
}

import {addConsoleRoutes, ConsoleEvents, EVENTS_PATH, type ConsoleSource} from '../http/console.js'
import {addMetricsRoute} from '../http/metrics.js'
import type {Router} from '../http/router.js'
import {NodeMetrics, type GaugeSource} from '../metrics/metrics.js'
import type {NodeEvent} from './events.js'
import type {NodeServer} from './server.js'

/** What the console and the metrics need of the node (structural, so this file does not import node.ts). */
export interface WebHost extends GaugeSource {
  readonly name: string
  readonly url: string
  readonly server: NodeServer
  readonly router: Router
  peerInfo(): object[]
  send(text: string): Array<{name: string; url: string; up: boolean}>
  on(eventName: 'event', listener: (ev: NodeEvent) => void): unknown
  off(eventName: 'event', listener: (ev: NodeEvent) => void): unknown
}

/**
 * Serves the web console (`GET /`, `/console/*`, `POST /send`, the `/events`
 * stream) and `GET /metrics` for `node`: the metrics count its events from
 * now on, the console streams them while a page is open.
 */
export function serveConsoleAndMetrics(node: WebHost): NodeMetrics {
  const metrics = new NodeMetrics(node)
  node.on('event', (ev) => metrics.event(ev))
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
    subscribe(listener) {
      node.on('event', listener)
      return () => node.off('event', listener)
    },
    relayedTotal: () => metrics.relayedTotal,
  }
  addConsoleRoutes(node.router, source)
  node.server.addEndpoint(EVENTS_PATH, new ConsoleEvents(source))
  return metrics
}

import type {Router} from './router.js'

/** Where the node serves Prometheus metrics. */
export const METRICS_PATH = '/metrics'

/** What `GET /metrics` needs: a registry's text exposition and its content type. */
export interface MetricsSource {
  readonly contentType: string
  metrics(): Promise<string>
}

/** `GET /metrics`: the Prometheus text format (token-protected unless `--metrics-public`). */
export function addMetricsRoute(router: Router, source: MetricsSource): void {
  router.add('GET', METRICS_PATH, async (_req, res) => {
    const body = await source.metrics()
    res.writeHead(200, {'content-type': source.contentType, 'content-length': Buffer.byteLength(body)})
    res.end(body)
  })
}

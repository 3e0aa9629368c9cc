import {echo} from './echo.js'
import {sendJson} from './respond.js'
import type {Router} from './router.js'

/** What the node's own routes need of it: its counters, as `GET /stats` answers them. */
export interface StatsSource {
  stats(): object
}

/** The node's own routes: liveness, counters and the echo service. */
export function addNodeRoutes(router: Router, node: StatsSource): void {
  router.add('GET', '/healthz', (_req, res) => sendJson(res, 200, {ok: true}))
  router.add('GET', '/stats', (_req, res) => sendJson(res, 200, node.stats()))
  router.add('POST', '/echo', echo)
}

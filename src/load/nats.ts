/** Connecting the load runner and its agents to NATS, with one-line errors. */
import {connect, type NatsConnection} from '@nats-io/transport-node'
import {PeerlinkError} from '../protocol/errors.js'

/** How long a first connect to NATS may take before it is an error. */
const NATS_CONNECT_TIMEOUT_MS = 5000

/**
 * Connects to the NATS server(s) at `servers` (comma-separated nats:// URLs).
 * The connection reconnects by itself (forever, every 2 s) once it was up; a
 * first connect that fails is a PeerlinkError naming the server.
 */
export async function connectNats(servers: string, name: string): Promise<NatsConnection> {
  const list = servers.split(',').map((s) => s.trim()).filter(Boolean)
  try {
    return await connect({servers: list, name, timeout: NATS_CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1, reconnectTimeWait: 2000})
  } catch (err) {
    const e = err as Error & {code?: string}
    throw new PeerlinkError('UNREACHABLE', `cannot reach NATS at ${list.join(', ')}: ${e.message || e.code || String(err)}`)
  }
}

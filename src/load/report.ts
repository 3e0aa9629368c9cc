import {escapeForTerminal} from '../protocol/terminal-text.js'
import {formatDuration} from '../protocol/units.js'
import type {LoadReport} from './runner.js'

const ms = (v: number | null) => (v === null ? '-' : `${v} ms`)

/** The load report as aligned `label  value` lines for people. */
export function formatReport(r: LoadReport): string {
  const delay = r.ack_delay_ms.min === r.ack_delay_ms.max ? formatDuration(r.ack_delay_ms.min) : `${formatDuration(r.ack_delay_ms.min)}..${formatDuration(r.ack_delay_ms.max)}`
  const rows: Array<[string, string]> = [
    ['target', r.url],
    ['clients', `${r.clients} over ${r.workers} worker${r.workers === 1 ? '' : 's'}, ramp ${formatDuration(r.ramp_ms)}, ack delay ${delay}`],
    ['acked', `${r.acked}`],
    ['failed', `${r.failed}`],
    ['retries', `${r.retries}`],
    ['latency', `p50 ${ms(r.latency_ms.p50)}  p90 ${ms(r.latency_ms.p90)}  p99 ${ms(r.latency_ms.p99)}  max ${ms(r.latency_ms.max)}`],
    ['connect rate', r.connect_rate_per_s === null ? '-' : `${r.connect_rate_per_s}/s`],
    ['peak open', `${r.peak_connections} connections`],
    ['duration', `${r.duration_s}s`],
    ['node /stats', r.target_stats === null ? 'unreachable' : Object.entries(r.target_stats).map(([k, v]) => `${k}=${v}`).join(' ')],
    ['zero state', r.zero_state ? 'yes' : 'no'],
  ]
  for (const [reason, count] of Object.entries(r.retry_reasons)) rows.push(['retried', `${count}× ${reason}`])
  for (const [reason, count] of Object.entries(r.failures)) rows.push(['gave up', `${count}× ${reason}`])
  rows.push(['result', r.ok ? 'PASS: every client acknowledged, node in zero state' : `FAIL: ${r.problems.join('; ')}`])
  const width = Math.max(...rows.map(([k]) => k.length))
  // the node's name and the failure reasons came from the network
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${escapeForTerminal(v)}`).join('\n')
}

/**
 * The load report, pure: built from the run's totals, its participants and
 * the targets' state afterwards; printed as `--json` or as aligned lines for
 * people. Field names are a contract (scripts read them): add, never rename.
 */
import {escapeForTerminal} from '../protocol/terminal-text.js'
import {formatDuration} from '../protocol/units.js'
import type {AgentMember} from './agents.js'
import type {Totals} from './aggregate.js'
import type {LatencySummary} from './histogram.js'
import type {WorkerPlan} from './plan.js'
import type {TargetAfter, TargetStats} from './targets.js'
import type {Verdict} from './verdict.js'

export interface TargetReport {
  url: string
  clients: number
  acked: number
  failed: number
  retries: number
  retries_held: number
  /** its retries had to be held back: it was visibly saturated */
  saturated: boolean
  stats: TargetStats | null
  zero_state: boolean
  error?: string
}

export interface AgentReport {
  name: string
  host: string
  clients: number
  workers: number
  workers_reason: string | null
  clock_offset_ms: number
  acked: number
  failed: number
  /** why it has no result, when it has none */
  lost: string | null
}

export interface LoadReport {
  /** the first target (every target: `urls`) */
  url: string
  urls: string[]
  clients: number
  /** worker processes in all, agents' included */
  workers: number
  /** why this machine uses more workers than asked, or null */
  workers_reason: string | null
  /** clients that may be open at once on this machine, as planned */
  planned_concurrency: number
  local_clients: number
  agents: AgentReport[]
  ramp_ms: number
  ack_delay_ms: {min: number; max: number}
  ack_timeout_ms: number
  finish_timeout_ms: number
  acked: number
  failed: number
  retries: number
  /** clients that had to retry at least once */
  clients_retried: number
  /** retries held back while their target was saturated */
  retries_held: number
  /** connects that waited for a handshake or socket slot */
  connects_queued: number
  /** the longest a fresh start waited for its slot: how far the generator fell behind its ramp */
  max_queue_wait_ms: number
  latency_ms: Omit<LatencySummary, 'count'>
  connect_rate_per_s: number | null
  peak_connections: number
  duration_s: number
  /** why clients gave up, by reason */
  failures: Record<string, number>
  /** why clients had to reconnect and resend, by reason */
  retry_reasons: Record<string, number>
  /** the first target's /stats after the run (every target: `targets`) */
  target_stats: TargetStats | null
  targets: TargetReport[]
  generator: {
    cpu_ms: number
    cpu_ms_per_client: number | null
    max_event_loop_delay_ms: number
    saturated_s: number
    saturated: boolean
  }
  /** `generator` and/or the URLs of targets that were saturated */
  saturated: string[]
  /** every target back in zero state */
  zero_state: boolean
  /** said even when the run passed (saturation, held retries, agents) */
  notes: string[]
  /** every client acknowledged and every target back in zero state */
  ok: boolean
  /** what kept `ok` false, one line each */
  problems: string[]
}

export interface ReportInput {
  opts: {urls: string[]; clients: number; rampMs: number; ackDelay: {minMs: number; maxMs: number}; ackTimeoutMs: number; finishTimeoutMs: number}
  plan: WorkerPlan
  concurrency: number
  localClients: number
  agents: readonly AgentMember[]
  totals: Totals
  after: readonly TargetAfter[]
  verdict: Verdict
  interrupted: boolean
  notes: readonly string[]
  peakConnections: number
  durationMs: number
}

/** Assembles the report of a finished run. */
export function buildReport(r: ReportInput): LoadReport {
  const {opts, totals, after, verdict: v} = r
  const {count: _count, ...latency} = totals.latency
  const agents: AgentReport[] = r.agents.map((m) => {
    const o = m.outcome
    const acked = o?.result?.counters.acked ?? m.last?.counters.acked ?? 0
    return {
      name: m.here.name,
      host: m.here.host,
      clients: m.share.count,
      workers: m.workers,
      workers_reason: m.workersReason,
      clock_offset_ms: m.offsetMs,
      acked,
      failed: o?.result ? o.result.counters.failed : m.share.count - acked,
      lost: o?.lost ?? null,
    }
  })
  return {
    url: opts.urls[0],
    urls: opts.urls,
    clients: opts.clients,
    workers: r.plan.workers + agents.reduce((n, a) => n + a.workers, 0),
    workers_reason: r.plan.reason,
    planned_concurrency: r.concurrency,
    local_clients: r.localClients,
    agents,
    ramp_ms: opts.rampMs,
    ack_delay_ms: {min: opts.ackDelay.minMs, max: opts.ackDelay.maxMs},
    ack_timeout_ms: opts.ackTimeoutMs,
    finish_timeout_ms: opts.finishTimeoutMs,
    acked: totals.acked,
    failed: totals.failed,
    retries: totals.counters.retries,
    clients_retried: totals.counters.clientsRetried,
    retries_held: totals.counters.retriesHeld,
    connects_queued: totals.counters.connectsQueued,
    max_queue_wait_ms: totals.counters.maxQueueWaitMs,
    latency_ms: latency,
    connect_rate_per_s: totals.connectRatePerS,
    peak_connections: r.peakConnections,
    duration_s: Math.round(r.durationMs / 100) / 10,
    failures: totals.failures,
    retry_reasons: totals.retryReasons,
    target_stats: after[0]?.stats ?? null,
    targets: after.map((a, i) => {
      const t = totals.targets[i]
      return {
        url: a.url,
        clients: t.clients,
        acked: t.acked,
        failed: t.failed,
        retries: t.retries,
        retries_held: t.retriesHeld,
        saturated: t.throttled,
        stats: a.stats,
        zero_state: a.zeroState,
        ...(a.error === undefined ? {} : {error: a.error}),
      }
    }),
    generator: {
      cpu_ms: totals.generator.cpuMs,
      cpu_ms_per_client: opts.clients === 0 ? null : Math.round((totals.generator.cpuMs / opts.clients) * 1000) / 1000,
      max_event_loop_delay_ms: totals.generator.maxEventLoopDelayMs,
      saturated_s: Math.round(totals.generator.saturatedMs / 100) / 10,
      saturated: v.saturated.includes('generator'),
    },
    saturated: v.saturated,
    zero_state: after.every((a) => a.zeroState),
    notes: [...r.notes, ...v.notes],
    ok: v.ok && !r.interrupted,
    problems: r.interrupted ? ['interrupted', ...v.problems] : v.problems,
  }
}

const ms = (v: number | null) => (v === null ? '-' : `${v} ms`)
const stats = (s: TargetStats | null) => (s === null ? 'unreachable' : Object.entries(s).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `${k}=${v}`).join(' '))

/** The load report as aligned `label  value` lines for people. */
export function formatReport(r: LoadReport): string {
  const delay = r.ack_delay_ms.min === r.ack_delay_ms.max ? formatDuration(r.ack_delay_ms.min) : `${formatDuration(r.ack_delay_ms.min)}..${formatDuration(r.ack_delay_ms.max)}`
  const several = r.urls.length > 1
  const rows: Array<[string, string]> = []
  if (several) for (const t of r.targets) rows.push(['target', `${t.url}  ${t.clients} clients, ${t.acked} acked, ${t.failed} failed, ${t.retries} retries`])
  else rows.push(['target', r.url])
  rows.push(['clients', `${r.clients} over ${r.workers} worker${r.workers === 1 ? '' : 's'}, ramp ${formatDuration(r.ramp_ms)}, ack delay ${delay}`])
  for (const a of r.agents) rows.push(['agent', `${a.name} (${a.host}): ${a.clients} clients over ${a.workers} worker${a.workers === 1 ? '' : 's'}, ${a.acked} acked, ${a.failed} failed${a.lost ? `, ${a.lost}` : ''}`])
  rows.push(
    ['acked', `${r.acked}`],
    ['failed', `${r.failed}`],
    ['retries', `${r.retries}${r.retries > 0 ? ` (${r.clients_retried} clients retried, ${r.retries_held} retries held while the target was saturated)` : ''}`],
    ['latency', `p50 ${ms(r.latency_ms.p50)}  p90 ${ms(r.latency_ms.p90)}  p99 ${ms(r.latency_ms.p99)}  max ${ms(r.latency_ms.max)}`],
    ['connect rate', r.connect_rate_per_s === null ? '-' : `${r.connect_rate_per_s}/s`],
    ['peak open', `${r.peak_connections} connections`],
    ['duration', `${r.duration_s}s`],
    ['generator', `CPU ${r.generator.cpu_ms_per_client ?? '-'} ms per client, worst event-loop delay ${r.generator.max_event_loop_delay_ms} ms${r.generator.saturated ? ', SATURATED' : ''}`],
  )
  if (several) for (const t of r.targets) rows.push(['node /stats', `${t.url}  ${stats(t.stats)}`])
  else rows.push(['node /stats', stats(r.target_stats)])
  rows.push(['zero state', r.zero_state ? 'yes' : 'no'])
  for (const [reason, count] of Object.entries(r.retry_reasons)) rows.push(['retried', `${count}× ${reason}`])
  for (const [reason, count] of Object.entries(r.failures)) rows.push(['gave up', `${count}× ${reason}`])
  for (const n of r.notes) rows.push(['note', n])
  rows.push(['result', r.ok ? `PASS: every client acknowledged, ${several ? 'every node' : 'node'} in zero state` : `FAIL: ${r.problems.join('; ')}`])
  const width = Math.max(...rows.map(([k]) => k.length))
  // the node's name and the failure reasons came from the network
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${escapeForTerminal(v)}`).join('\n')
}

import type {OutboundLink} from '../client/outbound-link.js'
import {keptLine, resendingLine} from '../client/outbox.js'
import type {NodeEvent} from '../node/events.js'
import {reportLinkEvents} from '../node/link-events.js'
import {PeerlinkError} from '../protocol/errors.js'
import {formatPeer, formatStats} from './format.js'
import type {ReplTarget} from './repl.js'

/**
 * The REPL's view of a bare client (`connect`): one reconnecting {@link OutboundLink}
 * to a node. Its events become the same {@link NodeEvent}s a node reports, so
 * both renderers work unchanged. `emit` receives every event. What the
 * link took from its outbox at start (an earlier run's messages) is said in
 * one line here, and what stays in a durable outbox at stop in another.
 */
export function clientTarget(name: string, link: OutboundLink, emit: (ev: NodeEvent) => void): ReplTarget {
  reportLinkEvents(link, emit)
  const outbox = link.outbox
  if (link.resumed > 0) emit({event: 'info', topic: 'outbox', msg: resendingLine(link.resumed), data: {resending: link.resumed, state: outbox.location}})

  return {
    name,
    get outbox() {
      return link.pendingCount
    },
    send(text) {
      link.send(text)
      return link.isUp ? undefined : `queued (not connected to ${link.url} yet); sent when connected`
    },
    /** Waits until own messages are acknowledged and no acknowledgement is owed (a held Y would cost its sender a timeout). */
    drain: async (timeoutMs) => (await link.settled(timeoutMs)) && outbox.size === 0,
    async stop(code, reason = 'client stopped') {
      for (const text of link.abandon()) emit({event: 'message_failed', text, to: link.peerName, reason})
      await link.close(1001, 'going away')
      if (outbox.size > 0 && outbox.location !== undefined) {
        const failing = outbox.failing
        emit({event: 'info', topic: 'outbox', msg: keptLine(outbox.size, outbox.location, failing), data: {kept: outbox.size, state: outbox.location, ...(failing ? {failing} : {})}})
      }
      emit({event: 'stopped', code})
    },
    report: emit,
    async answer(kind) {
      await outbox.flushed()
      switch (kind) {
        case 'peers': {
          const info = {url: link.url, name: link.peerName, up: link.isUp, pending: link.pendingCount}
          return {msg: formatPeer(info), data: [info]}
        }
        case 'stats': {
          const stats = {name, id: link.id, up: link.isUp, outbox: link.pendingCount, owed: link.owedCount}
          return {msg: formatStats(stats), data: stats}
        }
        default:
          throw new PeerlinkError('NOT_FOUND', `"${kind}" is not available in connect: it asks a node; use "peerlink ${kind} ${link.url}${kind === 'time' ? ' ID' : ''}"`)
      }
    },
  }
}

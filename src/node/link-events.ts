import type {OutboundLink} from '../client/outbound-link.js'
import type {NodeEvent} from './events.js'

/**
 * Reports what happens on an outbound link as node events: the node's peer
 * links and `connect`'s one link read the same. A link that keeps failing
 * for the same reason is reported once, not once per retry.
 */
export function reportLinkEvents(link: OutboundLink, report: (ev: NodeEvent) => void): void {
  const peer = () => link.peerName
  let downReason: string | undefined
  const down = (reason: string, retryInMs?: number) => {
    if (downReason === reason) return
    downReason = reason
    report({event: 'peer_disconnected', peer: peer(), url: link.url, reason, ...(retryInMs === undefined ? {} : {retry_in_ms: retryInMs})})
  }
  link.on('up', () => {
    downReason = undefined
    report({event: 'peer_connected', peer: peer(), url: link.url})
  })
  link.on('down', ({reason}) => down(reason))
  link.on('dial_failed', ({reason, retryInMs}) => down(reason, retryInMs))
  link.on('sent', ({text, attempt}) => report({event: 'message_sent', text, to: peer(), attempt}))
  link.on('acked', ({text, rttMs}) => report({event: 'message_acked', text, to: peer(), rtt_ms: rttMs}))
  link.on('received', ({text, repeat}) => report({event: 'message_received', from: peer(), text, ...(repeat ? {repeat} : {})}))
  link.on('server_error', ({text}) => report({event: 'error', msg: `${peer()} says: ${text}`, kind: 'remote'}))
  link.on('gave_up', ({reason, pending}) => {
    for (const text of pending) report({event: 'message_failed', text, to: peer(), reason})
  })
}

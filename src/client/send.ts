import os from 'node:os'
import {PeerlinkError} from '../protocol/errors.js'
import type {DialOptions} from './dial.js'
import {OutboundLink} from './outbound-link.js'
import type {Outbox} from './outbox.js'
import {isFatalDialFailure} from './wire-errors.js'

export interface SendOptions extends DialOptions {
  url: string
  text: string
  ackTimeoutMs: number
  ackDelayMs: number
  /** consecutive failed attempts (dial failures, drops, ack timeouts) before giving up */
  retries: number
  /** where the message is kept until acknowledged; what it already owes to `url` (an earlier send's) goes first */
  outbox?: Outbox
}

export interface SendResult {
  text: string
  rttMs: number
  attempts: number
  /** earlier messages to the same URL sent again and acknowledged too */
  resent: number
}


/**
 * Sends one `message X` and resolves once `ok X` arrives, retrying through the
 * {@link OutboundLink} (reconnect with backoff, resend). What the outbox still owes
 * to the URL (messages of an earlier `send` that died unacknowledged) is sent
 * first, and the promise waits for those acknowledgements too. Rejects with a
 * one-line PeerlinkError (`GAVE_UP`) when the retries are spent or the node
 * refuses us; the outbox keeps what was not acknowledged. Any `message Y` the
 * relay hands us meanwhile (X itself, possibly) is answered, as every client must.
 */
export function sendUntilAcknowledged(opts: SendOptions): Promise<SendResult> {
  const link = new OutboundLink({
    ...opts,
    hello: {name: `send@${os.hostname()}`, role: 'client'},
    maxRetries: opts.retries,
  })
  const resent = link.resumed
  let attempts = 0
  let own: {rttMs: number} | undefined
  return new Promise<SendResult>((resolve, reject) => {
    const finish = (outcome: () => void) => {
      // the ack we may still owe is answered at ack delay 0; give it a moment to leave
      void link.close(1000, 'done').then(outcome)
    }
    link.on('sent', ({text, attempt}) => {
      if (text === opts.text) attempts = attempt
    })
    link.on('acked', ({text, rttMs}) => {
      if (text === opts.text) own = {rttMs}
      if (own && link.pendingCount === 0) finish(() => resolve({text: opts.text, rttMs: own?.rttMs ?? rttMs, attempts, resent}))
    })
    link.on('gave_up', ({reason}) => {
      const tries = opts.retries + 1
      reject(new PeerlinkError('GAVE_UP', `not acknowledged after ${tries} attempt${tries === 1 ? '' : 's'}: ${reason}`))
    })
    // what no retry can fix (a refusal, a certificate, a server that never
    // answers) fails at once instead of burning the retry budget
    link.on('dial_failed', ({reason}) => {
      if (isFatalDialFailure(reason)) finish(() => reject(new PeerlinkError(/^HTTP /.test(reason) ? 'REFUSED' : 'UNREACHABLE', `${opts.url}: ${reason}`)))
    })
    link.send(opts.text)
    link.start()
  })
}

import os from 'node:os'
import {PeerlinkError} from '../protocol/errors.js'
import type {DialOptions} from './dial.js'
import {Link} from './link.js'
import {isFatalDialFailure} from './wire-errors.js'

export interface SendOptions extends DialOptions {
  url: string
  text: string
  ackTimeoutMs: number
  ackDelayMs: number
  /** consecutive failed attempts (dial failures, drops, ack timeouts) before giving up */
  retries: number
}

export interface SendResult {
  text: string
  rttMs: number
  attempts: number
}


/**
 * Sends one `message X` and resolves once `ok X` arrives, retrying through the
 * {@link Link} (reconnect with backoff, resend). Rejects with a one-line
 * PeerlinkError (`GAVE_UP`) when the retries are spent or the node refuses us.
 * Any `message Y` the relay hands us meanwhile (X itself, possibly) is
 * answered, as every client must.
 */
export function sendOnce(opts: SendOptions): Promise<SendResult> {
  const link = new Link({
    ...opts,
    hello: {name: `send@${os.hostname()}`, role: 'client'},
    maxRetries: opts.retries,
  })
  let attempts = 0
  return new Promise<SendResult>((resolve, reject) => {
    const finish = (outcome: () => void) => {
      // the ack we may still owe is answered at ack delay 0; give it a moment to leave
      void link.close(1000, 'done').then(outcome)
    }
    link.on('sent', ({attempt}) => {
      attempts = attempt
    })
    link.on('acked', ({text, rttMs}) => finish(() => resolve({text, rttMs, attempts})))
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

import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {ackDelayFlag, ackTimeoutFlag, clientFlags, nodeUrlArg, outputFlags, stateFlags} from '../cli/flags.js'
import {clientOptions} from '../client/options.js'
import {nodeAddress} from '../client/urls.js'
import {sendUntilAcknowledged} from '../client/send.js'
import {outboxKey, resendingLine} from '../client/outbox.js'
import {openSendState} from '../outbox/open.js'
import {PeerlinkError} from '../protocol/errors.js'

export default class Send extends BaseCommand {
  static override summary = 'Send one message through a node and wait for its acknowledgement.'

  static override description = `Sends "message X" (the words joined by spaces) and waits for "ok X". On an ack timeout or a dropped connection it reconnects and resends, up to --retries times in a row. Exit 0 when acknowledged; exit 1 with one line saying why when it gives up.

The message is written to disk before it is sent ($XDG_STATE_HOME/peerlink/@send/, one file per running send, or --state DIR) and removed when acknowledged. What a send that was killed or gave up left unacknowledged is sent again, first, by the next send to the same URL (which then waits for those acknowledgements too). --ephemeral keeps nothing on disk.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws hello world',
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws --retries 0 --ack-timeout 1s ping',
  ]

  static override strict = false

  // oclif marks every argument as variadic when strict is off; only MESSAGE is
  static override usage = '<%= command.id %> URL MESSAGE... [FLAGS]'

  static override args = {
    url: nodeUrlArg(),
    message: Args.string({description: 'the message (all remaining words, joined by spaces)', required: true}),
  }

  static override flags = {
    retries: Flags.integer({description: 'reconnect and resend at most this many times in a row', default: 5, min: 0}),
    'ack-timeout': ackTimeoutFlag('resend when not acknowledged within this time'),
    'ack-delay': ackDelayFlag(),
    ...stateFlags('$XDG_STATE_HOME/peerlink/@send, or ~/.local/state/peerlink/@send'),
    ...clientFlags,
    ...outputFlags,
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Send)
    const text = (argv as string[]).slice(1).join(' ')
    const address = nodeAddress(args.url)
    const url = address.ws
    const state = openSendState(url, {dir: flags.state, ephemeral: flags.ephemeral})
    for (const problem of state.problems) this.warnLine(`${problem}; left as it is`)
    if (state.adopted > 0) {
      const msg = resendingLine(state.adopted, 'an earlier send')
      if (flags.json) this.printJson({ts: new Date().toISOString(), event: 'info', topic: 'outbox', msg, data: {resending: state.adopted, state: state.dir}})
      else process.stderr.write(`${msg}\n`)
    }
    let result
    try {
      result = await sendUntilAcknowledged({
        ...clientOptions(flags, {urlToken: address.token, warn: (msg) => this.warnLine(msg)}),
        url,
        text,
        ackTimeoutMs: flags['ack-timeout'],
        ackDelayMs: flags['ack-delay'],
        retries: flags.retries,
        outbox: state.outbox,
      })
    } catch (err) {
      const kept = state.outbox.size
      if (err instanceof PeerlinkError && state.dir !== undefined && kept > 0) {
        throw new PeerlinkError(err.code, `${err.message}; ${kept === 1 ? 'the message stays' : `${kept} messages stay`} in ${state.dir}: the next send to ${outboxKey(url)} sends ${kept === 1 ? 'it' : 'them'} again`)
      }
      throw err
    } finally {
      state.close()
    }
    if (flags.json) {
      this.printJson({ts: new Date().toISOString(), event: 'message_acked', text: result.text, to: args.url, rtt_ms: result.rttMs, attempts: result.attempts})
    } else {
      this.printLine(`acknowledged: ${result.text} (${result.rttMs} ms${result.attempts > 1 ? `, ${result.attempts} attempts` : ''})`)
    }
  }
}

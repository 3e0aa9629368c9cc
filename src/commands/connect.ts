import os from 'node:os'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {ackDelayFlag, ackTimeoutFlag, clientFlags, drainTimeoutFlag, nodeUrlArg, outputFlags, stateFlags} from '../cli/flags.js'
import {OutboundLink} from '../client/outbound-link.js'
import {clientOptions} from '../client/options.js'
import {connectBanner, nodeAddress, systemTimeUrl} from '../client/urls.js'
import {Console} from '../repl/console.js'
import {JsonRenderer, TextRenderer, type Renderer} from '../repl/render.js'
import {runRepl} from '../repl/repl.js'
import {clientTarget} from '../repl/client-target.js'
import {openSenderState} from '../outbox/open.js'

export default class Connect extends BaseCommand {
  static override summary = 'A REPL client of a node, with no server of its own.'

  static override description = `Type "1 <message>" to send a message through the node's relay; the ack is reported when "ok" comes back. Messages the node hands to this client are shown and acknowledged (after --ack-delay). When the node goes away the client reconnects (backoff 100 ms doubling to 5 s) and resends what is unacknowledged.

Input can come from a terminal or a pipe: at end of input it waits until its messages are acknowledged (at most --drain-timeout), closes with 1001 and exits 0 if all were acknowledged, 1 otherwise.

Like a node, connect writes each message to its outbox on disk before sending it ($XDG_STATE_HOME/peerlink/@connect/NAME, or --state DIR) and resends what was not acknowledged when it is started again with the same --name; it keeps its client id across restarts too. What it has shown is remembered for a minute, so a resend after its own restart is shown once. --ephemeral keeps everything in memory.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws',
    {description: 'Send from a script and wait for the ack', command: "printf '1 hello\\n' | <%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws"},
  ]

  static override args = {
    url: nodeUrlArg(),
  }

  static override flags = {
    name: Flags.string({description: 'the name this client gives the node in its hello (default: the host name)', env: 'PEERLINK_NAME'}),
    'ack-timeout': ackTimeoutFlag('resend a message not acknowledged within this time'),
    'ack-delay': ackDelayFlag(),
    'drain-timeout': drainTimeoutFlag(),
    ...stateFlags('$XDG_STATE_HOME/peerlink/@connect/NAME, or ~/.local/state/peerlink/@connect/NAME'),
    ...clientFlags,
    ...outputFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Connect)
    const name = flags.name ?? os.hostname()
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !flags.json
    const address = nodeAddress(args.url)
    const state = openSenderState('connect', name, {dir: flags.state, ephemeral: flags.ephemeral})
    const link = new OutboundLink({
      ...clientOptions(flags, {urlToken: address.token, warn: (msg) => this.warnLine(msg)}),
      url: address.ws,
      hello: {id: state.id, name, role: 'client'},
      ackTimeoutMs: flags['ack-timeout'],
      ackDelayMs: flags['ack-delay'],
      outbox: state.outbox,
      seenLog: state.seenLog,
    })
    const console = new Console()
    const color = (flags.color ?? (Boolean(process.stdout.isTTY) && !process.env.NO_COLOR)) && !flags.json
    const renderer: Renderer = flags.json ? new JsonRenderer(name) : new TextRenderer(name, console, color)
    const target = clientTarget(name, link, (ev) => renderer.event(ev))
    state.onProblem((msg, recovered) => target.report(recovered ? {event: 'info', topic: 'outbox', msg} : {event: 'error', msg}))
    // Like the reverse-communication seed: say who we are and where to ask for our clock,
    // once the node's welcome has settled the id.
    link.once('up', ({id}) => {
      const lines = connectBanner(link.url, id)
      target.report({event: 'info', topic: 'client', msg: lines.join('\n'), data: {id, system_time_url: systemTimeUrl(link.url, id)}})
    })
    link.start()
    const code = await runRepl({target, renderer, console, input: process.stdin, output: process.stdout, interactive, drainTimeoutMs: flags['drain-timeout']})
    state.close()
    this.exit(code)
  }
}

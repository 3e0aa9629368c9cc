import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {clientFlags, nodeUrlArg} from '../cli/flags.js'
import {echoMany, echoOnce, formatSummary} from '../client/echo.js'
import {clientOptions} from '../client/options.js'
import {nodeAddress} from '../client/urls.js'
import {PeerlinkError} from '../protocol/errors.js'

export default class Echo extends BaseCommand {
  static override summary = "POST a message to a node's /echo and check that the answer is the same, byte for byte."

  static override description = `The words of MESSAGE are joined by single spaces. Exits 0 and prints the answer when it equals the request; exits 1 with one line saying why when it does not, when the node refuses (401: wrong or missing token), or when it cannot be reached.

With --count N the message is sent N times, --concurrency at a time over keep-alive connections, every answer verified; the result is a one-line summary (or JSON with --json), exit 0 only when all N passed.

URL is the node's WebSocket URL (ws://host:port/ws) or its HTTP base (http://host:port); https:// and wss:// take --ca FILE or --insecure.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws hello world',
    {description: 'Over TLS with a private CA', command: '<%= config.bin %> <%= command.id %> https://localhost:9443 hi --ca ca.pem'},
    {description: '500 verified echoes, all in flight at once', command: '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws hi --count 500 --concurrency 500'},
  ]

  static override strict = false

  // oclif marks every argument as variadic when strict is off; only MESSAGE is
  static override usage = '<%= command.id %> URL MESSAGE... [FLAGS]'

  static override args = {
    url: nodeUrlArg('the node: ws(s)://host:port/ws or http(s)://host:port'),
    message: Args.string({description: 'the message (all remaining words)', required: false}),
  }

  static override flags = {
    ...clientFlags,
    json: Flags.boolean({description: 'print the result as one JSON object (count, ok, failed, bytes, ms, per_second, error)', default: false}),
    count: Flags.integer({description: 'send the message this many times', default: 1, min: 1}),
    concurrency: Flags.integer({description: 'requests in flight at once (with --count)', default: 1, min: 1}),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Echo)
    const address = nodeAddress(args.url)
    const base = address.http
    const words = (argv as string[]).slice(1)
    if (words.length === 0) throw new PeerlinkError('BAD_FLAG', 'missing MESSAGE: peerlink echo URL MESSAGE...')
    const message = words.join(' ')
    const body = Buffer.from(message, 'utf8')
    const client = clientOptions(flags, {urlToken: address.token, warn: (msg) => this.warnLine(msg)})

    if (flags.count === 1 && !flags.json) {
      await echoOnce({base, body, client})
      this.printLine(message)
      return
    }
    const summary = await echoMany({base, body, client, count: flags.count, concurrency: flags.concurrency})
    if (flags.json) this.printJson(summary)
    else this.printLine(formatSummary(summary))
    if (summary.failed > 0) {
      throw new PeerlinkError('MISMATCH', `${summary.failed} of ${summary.count} echoes failed; first: ${summary.error}`)
    }
  }
}

import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {clientFlags, nodeUrlArg} from '../cli/flags.js'
import {fetchClients, formatClientTable} from '../client/clients.js'
import {clientOptions} from '../client/options.js'
import {nodeAddress} from '../client/urls.js'

export default class Clients extends BaseCommand {
  static override summary = "Print a node's client table (its registry)."

  static override description = `Lists every client and node the node knows: those registered with POST /client (heartbeating with PATCH /client) and every live WebSocket connection. LAST SEEN is the last heartbeat, frame or pong.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> http://127.0.0.1:8080',
    {description: 'As JSON, exactly as GET /clients answers', command: '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws --json'},
  ]

  static override args = {
    url: nodeUrlArg(),
  }

  static override flags = {
    ...clientFlags,
    json: Flags.boolean({description: 'print the table as JSON (the answer of GET /clients)', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Clients)
    const list = await fetchClients(args.url, clientOptions(flags, {urlToken: nodeAddress(args.url).token, warn: (msg) => this.warnLine(msg)}))
    if (flags.json) this.printJson(list)
    else this.log(formatClientTable(list))
  }
}

import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {clientFlags, nodeUrlArg} from '../cli/flags.js'
import {fetchClientTime} from '../client/clients.js'
import {clientOptions} from '../client/options.js'
import {nodeAddress} from '../client/urls.js'

export default class Time extends BaseCommand {
  static override summary = "Print a connected client's system time, asked through the node."

  static override description = `The node sends "cmd N system-time" over the client's WebSocket and relays its answer (GET /clients/ID/system-time). Exits 1 with one line when the id is unknown (404), the client has no live connection (409) or does not answer within 5s (504).`

  static override examples = ['<%= config.bin %> <%= command.id %> http://127.0.0.1:8080 0b7e3b57-6f0c-4c47-9a5e-1f0f4c1e2d3a']

  static override args = {
    url: nodeUrlArg(),
    id: Args.string({description: 'the client id (see "peerlink clients")', required: true}),
  }

  static override flags = {
    ...clientFlags,
    json: Flags.boolean({description: 'print {"id","ts"} as JSON', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Time)
    const ts = await fetchClientTime(args.url, args.id, clientOptions(flags, {urlToken: nodeAddress(args.url).token, warn: (msg) => this.warnLine(msg)}))
    if (flags.json) this.printJson({id: args.id, ts})
    else this.printLine(ts)
  }
}

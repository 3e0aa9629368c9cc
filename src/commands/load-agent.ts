import os from 'node:os'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {clientFlags, clusterFlags} from '../cli/flags.js'
import {clientOptions} from '../client/options.js'
import {startAgent, type AgentEvent} from '../load/agent.js'
import {parseAddressRange} from '../load/plan.js'
import {defaultWorkers} from '../load/runner.js'
import {PeerlinkError} from '../protocol/errors.js'

function describe(e: AgentEvent): string {
  switch (e.event) {
    case 'agent_ready':
      return `load-agent ${e.name} waiting for runs on ${e.nats} (cluster ${e.cluster})`
    case 'run_prepared':
      return `run ${e.run}: ${e.clients} clients over ${e.workers} worker${e.workers === 1 ? '' : 's'} against ${e.targets.join(' ')}${e.workers_reason ? ` (${e.workers_reason})` : ''}`
    case 'run_refused':
      return `run ${e.run} refused: ${e.reason}`
    case 'run_started':
      return `run ${e.run} started`
    case 'run_finished':
      return `run ${e.run} finished: ${e.acked} acked, ${e.failed} failed${e.delivered ? '' : ' (the runner did not take the result)'}`
    case 'run_dropped':
      return `run ${e.run} dropped: ${e.reason}`
  }
}

export default class LoadAgent extends BaseCommand {
  static override summary = 'Wait on the cluster\'s NATS and run clients for "peerlink load --cluster" runners.'

  static override description = `Run one on every machine that should generate load. It waits on the NATS given by --cluster; a "peerlink load URL --cluster ..." with the same --cluster-name finds it, gives it a share of the clients, and starts it at the instant agreed with the runner and the other agents. The agent runs its share with its own worker processes (one per core, more when its share needs them), its own token (--token, env PEERLINK_TOKEN or the token file: the token never travels over NATS) and its own source addresses, reports progress twice a second and one merged result. One run at a time; runs until SIGINT/SIGTERM.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --cluster nats://10.0.0.2:4222',
    '<%= config.bin %> <%= command.id %> --cluster nats://127.0.0.1:4222 --name a1 --source-addresses 127.0.1.1-127.0.1.50 --json',
  ]

  static override flags = {
    ...clusterFlags('NATS to wait on for runners (required)'),
    name: Flags.string({description: 'how this agent is named in the runner\'s summary (default: HOST-PID)'}),
    workers: Flags.integer({description: 'worker processes per run at least (default: one per core)', min: 1}),
    'source-addresses': Flags.custom<string[]>({
      description: 'clients bind these addresses in turn (default towards a loopback node: 127.0.0.1-127.0.0.100)',
      helpValue: 'FIRST-LAST',
      parse: async (input) => parseAddressRange(input),
    })(),
    ...clientFlags,
    json: Flags.boolean({description: 'print events as NDJSON on stdout (one JSON object per line), nothing else', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LoadAgent)
    if (flags.cluster === undefined) throw new PeerlinkError('BAD_FLAG', '--cluster is required: the NATS to wait on, e.g. --cluster nats://127.0.0.1:4222')
    const name = flags.name ?? `${os.hostname()}-${process.pid}`
    // names, targets and reasons come over NATS: escaped for the terminal like every command's output
    const out = (e: AgentEvent) => (flags.json ? this.printJson({ts: new Date().toISOString(), ...e}) : this.printLine(describe(e)))
    const agent = await startAgent({
      nats: flags.cluster,
      clusterName: flags['cluster-name'],
      name,
      dial: clientOptions(flags),
      workers: flags.workers ?? defaultWorkers(),
      sourceAddresses: flags['source-addresses'] ?? null,
      onEvent: out,
    })
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        void agent.close().then(resolve)
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
      void agent.closed.then(resolve)
    })
  }
}

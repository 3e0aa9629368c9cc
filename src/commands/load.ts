import {Args, Flags} from '@oclif/core'
import cliProgress from 'cli-progress'
import {BaseCommand} from '../cli/base.js'
import {ackTimeoutFlag, clientFlags, durationFlagWithDefault, nodeUrlArg, outputFlags} from '../cli/flags.js'
import {clientOptions} from '../client/options.js'
import {nodeAddress} from '../client/urls.js'
import {formatReport} from '../load/report.js'
import {defaultWorkers, runLoad, type LoadProgress} from '../load/runner.js'
import {PeerlinkError} from '../protocol/errors.js'
import {parseDurationRange} from '../protocol/units.js'

export default class Load extends BaseCommand {
  static override summary = 'Load-test a node\'s relay with many clients.'

  static override description = `Each client starts at a uniformly random time in --ramp, connects, sends "message <unique X>", answers every "message Y" with "ok Y" (after a delay drawn from --ack-delay), and closes once its own "ok X" has arrived and it owes no "ok Y". On an ack timeout or a dropped connection it reconnects and resends (at most --retries times in a row).

Clients are spread over worker processes (at least one per 15000 clients, to stay under open-file limits) and, towards a loopback node, over source addresses 127.0.0.1-100 so ephemeral ports never run out. At the end it prints a summary and the node's /stats, polled for up to 5 s until zero state. Exit 0 only when every client was acknowledged and the node is back in zero state (no connections, no pending messages).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws --clients 10000 --ramp 10s',
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws --clients 100000 --ramp 60s --ack-delay 0..1000ms --json',
  ]

  static override args = {
    url: nodeUrlArg(),
  }

  static override flags = {
    clients: Flags.integer({description: 'number of clients', default: 1000, min: 1}),
    ramp: durationFlagWithDefault({description: 'each client starts at a uniformly random time within this window', defaultMs: 60_000}),
    'ack-delay': Flags.custom<{minMs: number; maxMs: number}>({
      description: 'delay before a client answers "ok Y": one duration or a range MIN..MAX drawn uniformly per message',
      helpValue: 'MIN[..MAX]',
      parse: async (input) => parseDurationRange(input),
    })({default: {minMs: 0, maxMs: 0}, defaultHelp: async () => '0'}),
    'ack-timeout': ackTimeoutFlag(),
    retries: Flags.integer({description: 'a client gives up after this many failures in a row', default: 10, min: 0}),
    workers: Flags.integer({description: 'worker processes (default: one per core; more when the clients need them)', min: 1}),
    ...clientFlags,
    json: outputFlags.json,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Load)
    const bar =
      !flags.json && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            {
              format: 'load [{bar}] {percentage}% | {value}/{total} done | open {open} | acked {acked} | failed {failed} | retries {retries} | {duration_formatted}',
              stream: process.stderr,
              hideCursor: true,
              clearOnComplete: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined
    bar?.start(flags.clients, 0, {open: 0, acked: 0, failed: 0, retries: 0})
    const onProgress = (p: LoadProgress) => bar?.update(p.acked + p.failed, {open: p.open, acked: p.acked, failed: p.failed, retries: p.retries})

    const address = nodeAddress(args.url)
    let report
    try {
      report = await runLoad({
        url: address.ws,
        dial: clientOptions(flags, {urlToken: address.token, warn: (msg) => this.warnLine(msg)}),
        clients: flags.clients,
        rampMs: flags.ramp,
        ackDelay: flags['ack-delay'],
        ackTimeoutMs: flags['ack-timeout'],
        workers: flags.workers ?? defaultWorkers(),
        retries: flags.retries,
        onProgress,
      })
    } finally {
      bar?.stop()
    }
    if (flags.json) this.printJson(report)
    else this.log(formatReport(report))
    if (!report.ok) throw new PeerlinkError('NOT_ACKED', report.problems.join('; '))
  }
}

import {Flags} from '@oclif/core'
import cliProgress from 'cli-progress'
import {BaseCommand} from '../cli/base.js'
import {ackTimeoutFlag, clientFlags, clusterFlags, durationFlagWithDefault, nodeUrlArg, outputFlags} from '../cli/flags.js'
import {clientOptions} from '../client/options.js'
import {nodeAddress, type NodeAddress} from '../client/urls.js'
import {parseAddressRange} from '../load/plan.js'
import {formatReport} from '../load/report.js'
import {defaultWorkers, FINISH_TIMEOUT_MS_DEFAULT, runLoad, type LoadProgress} from '../load/runner.js'
import {PeerlinkError} from '../protocol/errors.js'
import {parseDurationRange} from '../protocol/units.js'

export default class Load extends BaseCommand {
  static override summary = "Load-test a node's relay (or several nodes) with many clients, on this machine and on load-agents."

  static override description = `Each client starts at a uniformly random time in --ramp, connects to one of the URLs (clients are spread evenly over all of them), sends "message <unique X>", answers every "message Y" with "ok Y" (after a delay drawn from --ack-delay), and closes once its own "ok X" has arrived and it owes no "ok Y". On an ack timeout or a dropped connection it backs off (exponential, full jitter, at most 10 s) and resends, at most --retries times in a row.

The generator does not add to an overload: each worker keeps at most 256 opening handshakes in flight and 15000 sockets open, and holds retries back while a target is visibly saturated (more than one attempt in ten failing). Clients still unacknowledged --finish-timeout after the ramp give up, so a run past a target's limit ends with a verdict.

Workers: one per core by default, more only when the clients that may be open at once need them (15000 per worker, under the open-file limit); the summary says why. Towards a loopback node the clients spread over the source addresses 127.0.0.1-100 (or --source-addresses) so ephemeral ports never run out. Each worker watches its own CPU and event-loop delay: when it is saturated, the progress line and the summary say "generator saturated: latencies include its own delay".

With --cluster, the load-agents waiting on that NATS ("peerlink load-agent") take part: the clients are split over them and this machine (unless --no-local), all start at one agreed instant, and their results merge into one summary; an agent that disappears mid-run fails the run, by name.

At the end it prints a summary and every node's /stats, polled for up to 5 s until zero state. Exit 0 only when every client was acknowledged and every node is back in zero state (no connections, no pending messages).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws --clients 10000 --ramp 10s',
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8080/ws --clients 100000 --ramp 60s --ack-delay 0..1000ms --json',
    '<%= config.bin %> <%= command.id %> ws://127.0.0.1:8081/ws ws://127.0.0.1:8082/ws --clients 20000',
    '<%= config.bin %> <%= command.id %> ws://10.0.0.5:8080/ws --clients 300000 --cluster nats://10.0.0.2:4222 --agents 2',
  ]

  // several URLs: oclif marks every argument variadic when strict is off
  static override strict = false

  static override usage = '<%= command.id %> URL... [FLAGS]'

  static override args = {
    url: nodeUrlArg('a node: ws(s)://HOST:PORT[/PATH][?token=T] or http(s)://HOST:PORT; give several to spread the clients over them'),
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
    'finish-timeout': durationFlagWithDefault({description: 'clients still unacknowledged this long after the ramp give up', defaultMs: FINISH_TIMEOUT_MS_DEFAULT}),
    workers: Flags.integer({description: 'worker processes on this machine (default: one per core; more when the clients open at once need them)', min: 1}),
    'source-addresses': Flags.custom<string[]>({
      description: "this machine's clients bind these addresses in turn (default towards a loopback node: 127.0.0.1-127.0.0.100)",
      helpValue: 'FIRST-LAST',
      parse: async (input) => parseAddressRange(input),
    })(),
    ...clusterFlags('NATS of the load-agents that take part (see "peerlink load-agent")'),
    agents: Flags.integer({description: 'with --cluster: wait for this many idle agents (up to 5 s) and use just those; default: every agent that answers within 1 s', min: 1}),
    local: Flags.boolean({description: 'run clients on this machine too; --no-local leaves them all to the agents', default: true, allowNo: true}),
    ...clientFlags,
    json: Flags.boolean({description: 'print nothing but the final JSON summary on stdout', default: false}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Load)
    const addresses: NodeAddress[] = (argv as string[]).map((u) => {
      try {
        return nodeAddress(u)
      } catch (err) {
        throw new PeerlinkError('BAD_FLAG', `URL: ${(err as Error).message}`)
      }
    })
    const tokens = new Set(addresses.map((a) => a.token).filter((t) => t !== undefined))
    if (tokens.size > 1) throw new PeerlinkError('BAD_FLAG', 'URL: the targets carry different ?token= values; one run has one token')
    if (flags.agents !== undefined && flags.cluster === undefined) throw new PeerlinkError('BAD_FLAG', '--agents needs --cluster (the NATS the agents wait on)')
    if (!flags.local && flags.cluster === undefined) throw new PeerlinkError('BAD_FLAG', '--no-local needs --cluster: someone has to run the clients')
    const bar =
      !flags.json && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            {
              format: 'load [{bar}] {percentage}% | {value}/{total} done | open {open} | acked {acked} | failed {failed} | retries {retries} | {duration_formatted}{note}',
              stream: process.stderr,
              hideCursor: true,
              clearOnComplete: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined
    bar?.start(flags.clients, 0, {open: 0, acked: 0, failed: 0, retries: 0, note: ''})
    const onProgress = (p: LoadProgress) => bar?.update(p.acked + p.failed, {open: p.open, acked: p.acked, failed: p.failed, retries: p.retries, note: p.note ? ` | ${p.note}` : ''})
    const onNote = (line: string) => {
      if (!flags.json) process.stderr.write(`load: ${line}\n`)
    }

    let report
    try {
      report = await runLoad({
        urls: addresses.map((a) => a.ws),
        dial: clientOptions(flags, {urlToken: addresses.find((a) => a.token !== undefined)?.token, warn: (msg) => this.warnLine(msg)}),
        clients: flags.clients,
        rampMs: flags.ramp,
        ackDelay: flags['ack-delay'],
        ackTimeoutMs: flags['ack-timeout'],
        finishTimeoutMs: flags['finish-timeout'],
        workers: flags.workers ?? defaultWorkers(),
        retries: flags.retries,
        sourceAddresses: flags['source-addresses'] ?? null,
        cluster: flags.cluster === undefined ? undefined : {nats: flags.cluster, name: flags['cluster-name'], agents: flags.agents},
        local: flags.local,
        onProgress,
        onNote,
      })
    } finally {
      bar?.stop()
    }
    if (flags.json) this.printJson(report)
    else this.log(formatReport(report))
    if (!report.ok) throw new PeerlinkError('NOT_ACKED', report.problems.join('; '))
  }
}

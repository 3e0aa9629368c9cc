import os from 'node:os'
import path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {ackDelayFlag, ackTimeoutFlag, clientFlags, drainTimeoutFlag, durationFlagWithDefault, clusterFlags, nodeUrlFlag, originFlag, outputFlags, portFlag, sizeFlag, stateFlags, wsUrlFlag} from '../cli/flags.js'
import {askNodeSetup} from '../cli/ask.js'
import {PRESETS} from '../cli/presets.js'
import {clientOptions} from '../client/options.js'
import {createGuards} from '../http/auth.js'
import {PeerNode} from '../node/node.js'
import {MAX_PENDING_PER_CONNECTION_DEFAULT} from '../node/relaying.js'
import {GRACE_MS_DEFAULT, HOST_DEFAULT, MAX_PAYLOAD_BYTES_DEFAULT, PORT_DEFAULT} from '../protocol/defaults.js'
import {REGISTRY_TTL_MS_DEFAULT, REGISTRY_TTL_MS_MIN} from '../registry/table.js'
import {PeerlinkError} from '../protocol/errors.js'
import {Console} from '../repl/console.js'
import {JsonRenderer, TextRenderer, type Renderer} from '../repl/render.js'
import {runRepl, serveUntilSignal} from '../repl/repl.js'
import {nodeTarget} from '../repl/node-target.js'
import {loadServerTls} from '../node/tls.js'
import {openSenderState} from '../outbox/open.js'
import {dirName} from '../outbox/state-dir.js'
import {superviseWorkers, takeStopsFromPrimary, workerIdentity} from '../cluster/workers.js'
import type {Endpoint, RelayFabric} from '../node/relaying.js'

export default class Start extends BaseCommand {
  static override summary = 'Run a node: a WebSocket server, links to its peers, and a REPL.'

  static override description = `A and B are presets for the two-terminal setup: A listens on 8080 and dials ws://127.0.0.1:8081/ws, B the reverse. Flags override a preset (--peer replaces the preset's peer). Any other NAME takes --port and --peer; a node with no peer is a plain relay server.

The node waits --grace before its first dial, retries until the peer is up, and re-dials whenever the link drops. Type "1 <message>" to send to every peer; "help" lists the other commands. Input can come from a terminal or a pipe: at end of input the node waits until its messages are acknowledged (at most --drain-timeout), closes its connections with 1001 and exits 0 if all were acknowledged, 1 otherwise.

Every message is written to the node's outbox on disk before it goes out and stays there until each peer acknowledged it: a node killed or restarted with the same NAME (or --state DIR) resends what was not acknowledged. The outbox is in $XDG_STATE_HOME/peerlink/NAME (~/.local/state/peerlink/NAME); one process at a time may use it. --ephemeral keeps everything in memory instead.

Every node serves a web console at http(s)://HOST:PORT/ (it asks for the token once, or takes ?token= and drops it from the address bar) and Prometheus metrics at GET /metrics (token-protected unless --metrics-public).

Without NAME: in a terminal it asks for name, port and peer; from a pipe the node is named after the host.`

  static override examples = [
    {description: 'Terminal 1', command: '<%= config.bin %> <%= command.id %> A'},
    {description: 'Terminal 2', command: '<%= config.bin %> <%= command.id %> B'},
    {description: 'Send one message from a script, wait for its acknowledgement', command: "printf '1 hello\\n' | <%= config.bin %> <%= command.id %> A --grace 0"},
    {description: 'A relay server with no peer, events as NDJSON', command: '<%= config.bin %> <%= command.id %> relay --port 9000 --no-repl --json'},
    {description: 'Serve https:// and wss:// with a certificate', command: '<%= config.bin %> <%= command.id %> relay --port 9443 --no-repl --tls-cert cert.pem --tls-key key.pem'},
    {description: 'Watch the node in a browser: open the console with the token, which the page then drops from the address bar', command: 'xdg-open "http://127.0.0.1:8080/?token=$(cat ~/.config/peerlink/token)"'},
    {description: 'Let Prometheus scrape /metrics without the token', command: '<%= config.bin %> <%= command.id %> relay --port 9000 --no-repl --metrics-public'},
    {description: 'Join the registry of the node on 9000 and link to every node listed there', command: '<%= config.bin %> <%= command.id %> n1 --port 9001 --registry http://127.0.0.1:9000'},
    {description: 'Three nodes as one relay on one NATS server (run each in its own terminal)', command: '<%= config.bin %> <%= command.id %> n1 --port 9001 --no-repl --cluster nats://127.0.0.1:4222'},
    {description: 'Six processes serving one port, members of one cluster', command: '<%= config.bin %> <%= command.id %> big --port 9000 --cluster nats://127.0.0.1:4222 --workers 6'},
  ]

  static override args = {
    name: Args.string({description: 'node name; A and B are presets', required: false}),
  }

  static override flags = {
    name: Flags.string({description: 'node name (instead of the NAME argument)', env: 'PEERLINK_NAME'}),
    host: Flags.string({description: 'address to listen on', default: HOST_DEFAULT, env: 'PEERLINK_HOST'}),
    port: portFlag({description: 'port to listen on (default 8080, or the preset\'s; 0 = any free port)', env: 'PEERLINK_PORT'}),
    peer: wsUrlFlag({description: 'URL of a peer node to dial (repeatable; replaces the preset\'s peer)', multiple: true}),
    grace: durationFlagWithDefault({description: 'wait before the first dial', defaultMs: GRACE_MS_DEFAULT, env: 'PEERLINK_GRACE'}),
    'ack-timeout': ackTimeoutFlag('resend a message not acknowledged within this time'),
    'ack-delay': ackDelayFlag('delay before this node answers "ok Y" for a message delivered to it'),
    'drain-timeout': drainTimeoutFlag(),
    'max-pending': Flags.integer({
      description: `messages one client connection may have waiting for their ok; past it the node answers "error" and does not forward (default ${MAX_PENDING_PER_CONNECTION_DEFAULT})`,
      min: 1,
      default: MAX_PENDING_PER_CONNECTION_DEFAULT,
      env: 'PEERLINK_MAX_PENDING',
    }),
    'max-payload': sizeFlag({description: 'largest frame accepted; larger ones close the connection with 1009', default: MAX_PAYLOAD_BYTES_DEFAULT, defaultHelp: async () => '1MiB', env: 'PEERLINK_MAX_PAYLOAD'}),
    'max-buffer': sizeFlag({
      description:
        'bytes waiting to be written to one connection (its reader is slower than what it is sent) past which the relay stops picking it as a receiver; past twice this it is closed with 1008 "too slow" and what it held goes to other receivers (default 4 × --max-payload; at least --max-payload)',
      env: 'PEERLINK_MAX_BUFFER',
    }),
    token: Flags.string({
      description:
        'shared token required from clients and sent to peers (default: env PEERLINK_TOKEN, then the token file in $XDG_CONFIG_HOME/peerlink/, created when missing). Every local user can read it in the process list: prefer PEERLINK_TOKEN or --token-file',
      exclusive: ['token-file'],
    }),
    'token-file': Flags.string({description: 'read the shared token from FILE (keep it mode 600) instead of --token; the default token file is then neither read nor created', helpValue: 'FILE', exclusive: ['token']}),
    auth: Flags.boolean({description: 'require the token (--no-auth turns auth off, with a warning)', allowNo: true, default: true}),
    'tls-cert': Flags.string({description: 'PEM certificate: serve https:// and wss:// (needs --tls-key)', helpValue: 'FILE'}),
    'tls-key': Flags.string({description: 'PEM private key of --tls-cert', helpValue: 'FILE'}),
    ca: clientFlags.ca,
    insecure: clientFlags.insecure,
    'allow-origin': originFlag({
      description:
        'a browser origin besides the node\'s own that may open a WebSocket, e.g. http://localhost:3000, or null for file:// pages and sandboxed iframes (repeatable). A wss node\'s own origin is https://HOST:PORT; an http:// origin is another one',
      multiple: true,
    }),
    'metrics-public': Flags.boolean({description: 'serve GET /metrics (Prometheus) without the token; every other route but /healthz and the console page still needs it', default: false}),
    registry: nodeUrlFlag({description: 'join the registry of this node (http(s) or ws(s) URL), heartbeat every 2s, and link to every node listed there', env: 'PEERLINK_REGISTRY'}),
    advertise: wsUrlFlag({description: 'the URL other nodes should dial to reach this one, as registered with --registry (default: from --host, --port and TLS)', env: 'PEERLINK_ADVERTISE'}),
    'registry-ttl': durationFlagWithDefault({description: 'drop client-table entries not seen for this long (live connections stay)', defaultMs: REGISTRY_TTL_MS_DEFAULT, env: 'PEERLINK_REGISTRY_TTL'}),
    ...clusterFlags('join the cluster on this NATS server (nats://HOST:PORT): every node of the cluster is one relay for its clients; without it the node needs no NATS'),
    workers: Flags.integer({description: 'serve the port from K processes, each a member of the --cluster (named NAME-1..NAME-K; no REPL: serves until SIGINT/SIGTERM)', min: 1, max: 64, helpValue: 'K'}),
    repl: Flags.boolean({description: 'read commands from stdin (--no-repl: serve only, until SIGINT/SIGTERM)', allowNo: true, default: true}),
    ...stateFlags('$XDG_STATE_HOME/peerlink/NAME, or ~/.local/state/peerlink/NAME'),
    ...outputFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Start)
    if (flags['registry-ttl'] < REGISTRY_TTL_MS_MIN) throw new PeerlinkError('BAD_FLAG', `--registry-ttl: must be at least ${REGISTRY_TTL_MS_MIN}ms`)
    if (flags.workers !== undefined && flags.cluster === undefined) throw new PeerlinkError('BAD_FLAG', '--workers needs --cluster nats://HOST:PORT: the workers are members of one cluster')
    if (flags['max-buffer'] !== undefined && flags['max-buffer'] < flags['max-payload']) {
      throw new PeerlinkError('BAD_FLAG', `--max-buffer: must be at least --max-payload (${flags['max-payload']} bytes): a connection must be able to take one frame of the largest size`)
    }
    const worker = workerIdentity()
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !flags.json
    // Flags first, questions after: a bad --tls-key should not wait for answers.
    const tls = loadServerTls(flags['tls-cert'], flags['tls-key'])
    // The node makes the token file when missing; its peer links send the same token.
    const dialOptions = clientOptions({token: flags.token, 'token-file': flags['token-file'], ca: flags.ca, insecure: flags.insecure}, {createToken: true, warn: (msg) => this.warnLine(msg)})
    const guards = createGuards({
      token: flags.auth ? dialOptions.token : undefined,
      tls: tls !== undefined,
      allowedOrigins: flags['allow-origin'] ?? [],
      metricsPublic: flags['metrics-public'],
    })
    let name = worker?.name ?? flags.name ?? args.name
    let port = worker?.port ?? flags.port
    let peers = flags.peer
    if (name === undefined) {
      if (interactive && flags.repl && flags.workers === undefined) {
        const answers = await askNodeSetup()
        ;({name} = answers)
        port ??= answers.port
        peers ??= answers.peers
      } else {
        name = os.hostname()
      }
    }
    const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined
    const console = new Console()
    const color = (flags.color ?? (Boolean(process.stdout.isTTY) && !process.env.NO_COLOR)) && !flags.json
    const renderer: Renderer = flags.json ? new JsonRenderer(name) : new TextRenderer(name, console, color)

    if (!flags.auth && !worker) process.stderr.write('warning: --no-auth: anyone who can reach this port can use this node\n')
    if (flags.workers !== undefined && worker === undefined) {
      const code = await superviseWorkers({count: flags.workers, name, port: port ?? preset?.port ?? PORT_DEFAULT, report: (ev) => renderer.event(ev)})
      await renderer.flush()
      this.exit(code)
    }
    if (worker) takeStopsFromPrimary()
    // loaded only with --cluster: a plain node never loads the NATS client
    let fabric: RelayFabric<Endpoint> | undefined
    if (flags.cluster !== undefined) {
      const {ClusterFabric} = await import('../cluster/fabric.js')
      fabric = new ClusterFabric({url: flags.cluster, name: flags['cluster-name'], nodeName: name})
    }
    // Before anything listens: a directory in use is refused in one line. Each
    // worker of --workers is a node of its own name (NAME-i), with its own directory.
    const state = openSenderState('node', name, {dir: worker && flags.state ? path.join(flags.state, dirName(name)) : flags.state, ephemeral: flags.ephemeral})

    const node = new PeerNode({
      name,
      host: flags.host,
      port: port ?? preset?.port ?? PORT_DEFAULT,
      peers: peers ?? (preset ? [preset.peer] : []),
      graceMs: flags.grace,
      ackTimeoutMs: flags['ack-timeout'],
      ackDelayMs: flags['ack-delay'],
      maxPayloadBytes: flags['max-payload'],
      maxPendingPerConnection: flags['max-pending'],
      maxBufferBytes: flags['max-buffer'],
      token: dialOptions.token,
      ca: dialOptions.ca,
      insecure: dialOptions.insecure,
      tls,
      checkUpgrade: guards.checkUpgrade,
      guardRequest: guards.guardRequest,
      registry: flags.registry,
      advertise: flags.advertise,
      registryTtlMs: flags['registry-ttl'],
      id: state.id,
      outbox: state.outbox,
      seenLog: state.seenLog,
      fabric,
    })
    // the text renderer folds fast relay traffic and connections into counts: the node then reports only the few events it shows
    renderer.countFoldedFrom?.(() => node.foldedTotals())
    node.listen((ev) => renderer.event(ev), renderer.relayEvents)
    state.onProblem((msg, recovered) => node.report(recovered ? {event: 'info', topic: 'outbox', msg} : {event: 'error', msg}))

    await node.start()
    const target = nodeTarget(node)
    const code = flags.repl && !worker
      ? await runRepl({target, renderer, console, input: process.stdin, output: process.stdout, interactive, drainTimeoutMs: flags['drain-timeout']})
      : await serveUntilSignal(target, renderer, flags['drain-timeout'])
    state.close()
    this.exit(code)
  }
}

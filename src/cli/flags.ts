import {Args, Flags} from '@oclif/core'
import {PeerlinkError} from '../protocol/errors.js'
import {ACK_DELAY_MS_DEFAULT, ACK_TIMEOUT_MS_DEFAULT, CLUSTER_NAME_DEFAULT, DRAIN_TIMEOUT_MS_DEFAULT} from '../protocol/defaults.js'
import {formatDuration, parseDuration, parseSize} from '../protocol/units.js'
import {nodeAddress} from '../client/urls.js'

/** A duration flag (`250ms`, `3s`, `1m`) parsed to milliseconds. */
export const durationFlag = Flags.custom<number>({
  helpValue: 'DURATION',
  parse: async (input) => parseDuration(input),
})

/** A size flag (`4096`, `512KiB`, `2MiB`) parsed to bytes. */
export const sizeFlag = Flags.custom<number>({
  helpValue: 'SIZE',
  parse: async (input) => parseSize(input),
})

/** A TCP port, 0 meaning "any free port". */
export const portFlag = Flags.custom<number>({
  helpValue: 'PORT',
  parse: async (input) => {
    if (!/^\d+$/.test(input) || Number(input) > 65535) throw new Error(`invalid port "${input}": use a number from 0 to 65535`)
    return Number(input)
  },
})

/** A ws:// or wss:// URL. */
export const wsUrlFlag = Flags.custom<string>({
  helpValue: 'URL',
  parse: async (input) => checkWsUrl(input),
})

/**
 * Parses `input` as a URL whose scheme is one of `schemes` (e.g. `['ws', 'wss']`);
 * throws a one-line Error naming what was expected, with `example`.
 */
function parseUrlOf(input: string, what: string, schemes: string[], example: string): URL {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new Error(`invalid ${what} "${input}": use e.g. ${example}`)
  }
  if (!schemes.includes(url.protocol.slice(0, -1))) {
    const list = schemes.map((s) => `${s}://`)
    throw new Error(`invalid ${what} "${input}": must start with ${list.slice(0, -1).join(', ')}${list.length > 1 ? ' or ' : ''}${list.at(-1)}`)
  }
  return url
}

/** Checks that `input` is a ws:// or wss:// URL; returns it unchanged. */
export function checkWsUrl(input: string): string {
  parseUrlOf(input, 'URL', ['ws', 'wss'], 'ws://127.0.0.1:8081/ws')
  return input
}

/** One or more NATS servers, `nats://host:port[,nats://host2:port]` (the cluster's NATS). */
export const natsUrlFlag = Flags.custom<string>({
  helpValue: 'NATS_URL',
  parse: async (input) => checkNatsUrls(input),
})

/** Checks a comma-separated list of nats:// (or tls://) URLs; returns it unchanged. */
export function checkNatsUrls(input: string): string {
  const list = input.split(',').map((s) => s.trim())
  for (const u of list) parseUrlOf(u, 'NATS URL', ['nats', 'tls'], 'nats://127.0.0.1:4222')
  return list.join(',')
}

/** `--cluster` and `--cluster-name`: the NATS a cluster (and its load-agents) meet on, and the cluster's name on it. */
export function clusterFlags(clusterDescription: string) {
  return {
    cluster: natsUrlFlag({description: clusterDescription, env: 'PEERLINK_CLUSTER'}),
    'cluster-name': Flags.string({
      description: 'name of the cluster on that NATS, so several clusters can share one (letters, digits, "_", "-")',
      default: CLUSTER_NAME_DEFAULT,
      env: 'PEERLINK_CLUSTER_NAME',
      parse: async (input) => {
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(input)) throw new Error(`invalid cluster name "${input}": use 1 to 64 letters, digits, "_" or "-"`)
        return input
      },
    }),
  }
}

/** A browser origin (`http(s)://host[:port]`), kept in its canonical form. */
export const originFlag = Flags.custom<string>({
  helpValue: 'ORIGIN',
  parse: async (input) => checkOrigin(input),
})

/**
 * Checks that `input` is an http(s) origin with no path, or `null` (the
 * origin browsers send from a file:// page or a sandboxed iframe); returns its
 * canonical form.
 */
export function checkOrigin(input: string): string {
  if (input === 'null') return input
  const url = parseUrlOf(input, 'origin', ['http', 'https'], 'http://localhost:3000')
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new Error(`invalid origin "${input}": an origin is scheme, host and port only, e.g. http://localhost:3000`)
  }
  return url.origin
}

/**
 * A duration flag with its default shown in `--help` the way users type it,
 * computed from the default itself so the two can never disagree.
 */
export function durationFlagWithDefault(opts: {description: string; defaultMs: number; env?: string}) {
  return durationFlag({description: opts.description, default: opts.defaultMs, defaultHelp: async () => formatDuration(opts.defaultMs), env: opts.env})
}

/** `--ack-timeout`: shared by start, connect, send and load (the wording says what the command does on a timeout). */
export function ackTimeoutFlag(description = 'reconnect and resend a message not acknowledged within this time') {
  return durationFlagWithDefault({description, defaultMs: ACK_TIMEOUT_MS_DEFAULT, env: 'PEERLINK_ACK_TIMEOUT'})
}

/** `--ack-delay`: how long the final receiver waits before answering `ok Y`. */
export function ackDelayFlag(description = 'delay before answering "ok Y" for a message the node hands us') {
  return durationFlagWithDefault({description, defaultMs: ACK_DELAY_MS_DEFAULT, env: 'PEERLINK_ACK_DELAY'})
}

/** `--drain-timeout`: at end of input, how long to wait for acknowledgements. */
export function drainTimeoutFlag() {
  return durationFlagWithDefault({description: 'at end of input, wait at most this long for acknowledgements', defaultMs: DRAIN_TIMEOUT_MS_DEFAULT, env: 'PEERLINK_DRAIN_TIMEOUT'})
}

/**
 * `--state DIR` and `--ephemeral` (start, connect, send): where the outbox,
 * the sender's id and what it has shown are kept. `where` names the default
 * directory in the help.
 */
export function stateFlags(where: string) {
  return {
    state: Flags.string({
      description: `directory for the durable outbox, this sender's id and what it has shown (default ${where}; created with mode 0700)`,
      helpValue: 'DIR',
      exclusive: ['ephemeral'],
    }),
    ephemeral: Flags.boolean({
      description: 'keep nothing on disk: unacknowledged messages live only as long as this process',
      default: false,
    }),
  }
}

/** Flags every command shares for output. */
export const outputFlags = {
  json: Flags.boolean({description: 'print events as NDJSON on stdout (one JSON object per line), nothing else', default: false}),
  color: Flags.boolean({description: 'colour the output (default: when stdout is a terminal); --no-color turns it off', allowNo: true}),
}

/** Flags of every client command (connect, send, load, echo, clients, time). */
export const clientFlags = {
  // no oclif `env`: resolveToken reads PEERLINK_TOKEN itself, after the flags and the URL's ?token=
  token: Flags.string({
    description: 'shared token (default: env PEERLINK_TOKEN, then the token file in $XDG_CONFIG_HOME/peerlink/). Every local user can read it in the process list: prefer PEERLINK_TOKEN or --token-file',
    exclusive: ['token-file'],
  }),
  'token-file': Flags.string({description: 'read the shared token from FILE (keep it mode 600); instead of --token, which shows in the process list', helpValue: 'FILE', exclusive: ['token']}),
  ca: Flags.string({description: 'PEM file of a CA to trust for wss:// and https://', helpValue: 'FILE'}),
  insecure: Flags.boolean({description: 'accept any TLS certificate (testing only)', default: false}),
}

/** A node's address as http(s):// or ws(s):// (e.g. the `--registry`, or the URL of a client command). */
export const nodeUrlFlag = Flags.custom<string>({
  helpValue: 'URL',
  parse: async (input) => checkNodeUrl(input),
})

/** Checks that `input` is an http(s):// or ws(s):// URL by the client commands' one rule (client/urls.ts); returns it unchanged. */
export function checkNodeUrl(input: string): string {
  nodeAddress(input)
  return input
}

/** A required URL argument checked by `check`; a bad one is a usage error (one line, exit 2). */
function urlArg(check: (input: string) => string, description: string) {
  return Args.string({
    description,
    required: true,
    parse: async (input) => {
      try {
        return check(input)
      } catch (err) {
        throw new PeerlinkError('BAD_FLAG', `URL: ${(err as Error).message}`)
      }
    },
  })
}

/**
 * The URL argument of every client command: ws(s):// or http(s)://, read by
 * one rule (client/urls.ts nodeAddress, README "URLs").
 */
export function nodeUrlArg(
  description = "the node: ws(s)://HOST:PORT[/PATH][?token=T] or http(s)://HOST:PORT; a URL with no path means /ws, an explicit path is used as given",
) {
  return urlArg(checkNodeUrl, description)
}

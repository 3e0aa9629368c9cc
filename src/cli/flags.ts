import {Args, Flags} from '@oclif/core'
import {PeerlinkError} from '../protocol/errors.js'
import {parseDuration, parseSize} from '../protocol/units.js'

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

/** Checks that `input` is a ws:// or wss:// URL; returns it unchanged. */
export function checkWsUrl(input: string): string {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new Error(`invalid URL "${input}": use e.g. ws://127.0.0.1:8081/ws`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`invalid URL "${input}": must start with ws:// or wss://`)
  return input
}

/** Flags every command shares for output. */
export const outputFlags = {
  json: Flags.boolean({description: 'print events as NDJSON on stdout (one JSON object per line), nothing else', default: false}),
  color: Flags.boolean({description: 'colour the output (default: when stdout is a terminal); --no-color turns it off', allowNo: true}),
}

/** Flags of every client command (connect, send, load, echo, clients, time). */
export const clientFlags = {
  token: Flags.string({description: 'shared token (default: env PEERLINK_TOKEN)', env: 'PEERLINK_TOKEN'}),
  ca: Flags.string({description: 'PEM file of a CA to trust for wss:// and https://', helpValue: 'FILE'}),
  insecure: Flags.boolean({description: 'accept any TLS certificate (testing only)', default: false}),
}

/** The URL argument of the client commands (connect, send, load): a ws:// or wss:// URL, else a one-line exit-2 error. */
export const wsUrlArg = Args.custom<string>({
  description: 'WebSocket URL of the node, e.g. ws://127.0.0.1:8080/ws',
  required: true,
  parse: async (input) => {
    try {
      return checkWsUrl(input)
    } catch (err) {
      throw new PeerlinkError('BAD_FLAG', `URL: ${(err as Error).message}`)
    }
  },
})

import {readFileSync} from 'node:fs'
import {PeerlinkError} from '../protocol/errors.js'
import type {DialOptions} from './dial.js'
import {resolveToken} from './token.js'

/** What every client command accepts about reaching a node (`--token`, `--token-file`, `--ca`, `--insecure`). */
export interface ClientFlags {
  token?: string
  'token-file'?: string
  ca?: string
  insecure?: boolean
}

export interface ClientOptionsContext {
  /** a node makes the default token file when it is missing; a client only reads it */
  createToken?: boolean
  /** the `?token=` of the URL the command was given (client/urls.ts) */
  urlToken?: string
  /** told about a token file other users can read */
  warn?: (msg: string) => void
}

/**
 * Turns client flags into dial options once, at the edge; a CA file that
 * cannot be read is a one-line error. The token comes from {@link resolveToken}
 * (the URL's `?token=`, `--token`, `--token-file`, env, the default token file).
 */
export function clientOptions(flags: ClientFlags, context: ClientOptionsContext = {}): DialOptions {
  let ca: Buffer | undefined
  if (flags.ca !== undefined) {
    try {
      ca = readFileSync(flags.ca)
    } catch (err) {
      throw new PeerlinkError('BAD_FLAG', `--ca: cannot read ${flags.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  const token = resolveToken({url: context.urlToken, flag: flags.token, file: flags['token-file'], create: context.createToken, warn: context.warn})
  return {token, ca, insecure: flags.insecure ?? false}
}

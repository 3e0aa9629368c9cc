import {readFileSync} from 'node:fs'
import {PeerlinkError} from '../protocol/errors.js'
import type {DialOptions} from './dial.js'
import {resolveToken} from './token.js'

/** What every client command accepts about reaching a node (`--token`, `--ca`, `--insecure`). */
export interface ClientFlags {
  token?: string
  ca?: string
  insecure?: boolean
}

/**
 * Turns client flags into dial options once, at the edge; a CA file that
 * cannot be read is a one-line error. The token comes from {@link resolveToken}
 * (`--token`, env, token file); `createToken` lets a node make the token file
 * a client would only read.
 */
export function clientOptions(flags: ClientFlags, createToken = false): DialOptions {
  let ca: Buffer | undefined
  if (flags.ca !== undefined) {
    try {
      ca = readFileSync(flags.ca)
    } catch (err) {
      throw new PeerlinkError('BAD_FLAG', `--ca: cannot read ${flags.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  return {token: resolveToken({flag: flags.token, create: createToken}), ca, insecure: flags.insecure ?? false}
}

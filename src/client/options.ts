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

/** The http(s):// base of a node from its ws(s):// or http(s):// URL, e.g. ws://h:1/ws → http://h:1. */
export function httpBase(url: string): string {
  const u = new URL(url)
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:'
  return `${scheme}//${u.host}`
}

/** The ws(s):// endpoint of a node from a ws(s):// or http(s):// URL (path /ws when none is given). */
export function wsUrl(url: string): string {
  const u = new URL(url)
  if (u.protocol === 'http:') u.protocol = 'ws:'
  if (u.protocol === 'https:') u.protocol = 'wss:'
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/ws'
  return u.toString()
}

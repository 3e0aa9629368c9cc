import {randomBytes} from 'node:crypto'
import {linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {PeerlinkError} from '../protocol/errors.js'

/** Random bytes in a generated token (written as hex, so 64 characters). */
export const TOKEN_BYTES = 32

/** How long to wait for a token file that another process created but has not filled yet. */
const EMPTY_FILE_WAIT_MS = 2000
const EMPTY_FILE_POLL_MS = 20

/** A token travels in an HTTP header, so it must be printable ASCII without spaces. */
const TOKEN_RE = /^[\x21-\x7e]+$/

export interface TokenSources {
  /** the `?token=` of the URL a client command was given */
  url?: string
  /** `--token` (visible to every local user in the process list: the file and the env are the safe ways) */
  flag?: string
  /** `--token-file FILE`: must exist; replaces the default token file */
  file?: string
  env?: NodeJS.ProcessEnv
  /** create the default token file when it is missing (a node does; a client only reads it) */
  create?: boolean
  /** told about a token file other users can read */
  warn?: (msg: string) => void
}

/** `$XDG_CONFIG_HOME/peerlink/token`, or `~/.config/peerlink/token` when XDG_CONFIG_HOME is unset. */
export function tokenFilePath(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config')
  return path.join(base, 'peerlink', 'token')
}

/**
 * The shared token, in the order docs/protocol.md §6 and the README give
 * (flags before the environment before files): `--token`, `--token-file`,
 * env `PEERLINK_TOKEN`, then the default token file; a URL's `?token=` comes
 * first, as the most specific (and must agree with `--token` when both are
 * given). With `create`, a missing default file is made
 * (mode 0600, 32 random bytes in hex); without it, a missing file means no
 * token. Nodes, their peer links and every client command call this, so they
 * all agree with no flags.
 */
export function resolveToken(sources: TokenSources = {}): string | undefined {
  const env = sources.env ?? process.env
  if (sources.url !== undefined && sources.flag !== undefined && sources.url !== sources.flag) {
    throw new PeerlinkError('BAD_FLAG', 'the URL\'s ?token= and --token differ: give the token once')
  }
  if (sources.url !== undefined) return checkToken(sources.url, 'the URL\'s ?token=')
  if (sources.flag !== undefined) return checkToken(sources.flag, '--token')
  if (sources.file !== undefined) {
    const token = readTokenFile(sources.file, sources.warn, '--token-file')
    if (token === undefined) throw new PeerlinkError('BAD_FLAG', `--token-file: cannot read ${sources.file}: ENOENT`)
    return token
  }
  if (env.PEERLINK_TOKEN !== undefined) return checkToken(env.PEERLINK_TOKEN, 'PEERLINK_TOKEN')
  const file = tokenFilePath(env)
  const existing = readTokenFile(file, sources.warn)
  if (existing !== undefined || !sources.create) return existing
  return createTokenFile(file)
}

/** Tells `warn` when the file's mode lets users other than its owner read it. */
function checkPrivate(file: string, warn: ((msg: string) => void) | undefined): void {
  if (!warn || process.platform === 'win32') return
  try {
    const mode = statSync(file).mode & 0o777
    if (mode & 0o077) warn(`other users can read the token file ${file} (mode ${mode.toString(8)}): chmod 600 ${file}`)
  } catch {
    // read already; a stat that fails now changes nothing
  }
}

function checkToken(token: string, source: string): string {
  const trimmed = token.trim()
  if (trimmed === '') throw new PeerlinkError('BAD_FLAG', `${source}: the token is empty`)
  if (!TOKEN_RE.test(trimmed)) throw new PeerlinkError('BAD_FLAG', `${source}: a token may hold only printable ASCII characters without spaces`)
  return trimmed
}

/** Reads a token file; undefined when it does not exist. Waits briefly when it exists but is still empty. */
function readTokenFile(file: string, warn?: (msg: string) => void, flag?: string): string | undefined {
  const deadline = Date.now() + EMPTY_FILE_WAIT_MS
  for (;;) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return undefined
      throw new PeerlinkError('BAD_FLAG', `${flag ? `${flag}: cannot read ${file}` : `cannot read the token file ${file}`}: ${code ?? (err as Error).message}`)
    }
    // Our own writer never shows an empty file (see createTokenFile), but
    // another writer (an editor, an older peerlink) might be mid-write.
    if (text.trim() !== '' || Date.now() >= deadline) {
      const token = checkToken(text, `${flag ? `${flag} ` : 'token file '}${file}`)
      checkPrivate(file, warn)
      return token
    }
    sleepSync(EMPTY_FILE_POLL_MS)
  }
}

/**
 * Creates the token file exclusively. The token is written to a private temp
 * file first and then hard-linked into place: the link either creates the
 * file whole or fails with EEXIST, so two nodes starting at the same instant
 * end up with one token (the loser reads the winner's) and no reader ever
 * sees a half-written file.
 */
function createTokenFile(file: string): string {
  const dir = path.dirname(file)
  const token = randomBytes(TOKEN_BYTES).toString('hex')
  const temp = path.join(dir, `.token.${process.pid}.${randomBytes(6).toString('hex')}`)
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    writeFileSync(temp, `${token}\n`, {mode: 0o600, flag: 'wx'})
  } catch (err) {
    throw new PeerlinkError('BAD_FLAG', `cannot create the token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try {
    linkSync(temp, file)
    return token
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return readWinner(file)
    // A file system without hard links: fall back to a plain exclusive create.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV') return createExclusively(file, token)
    throw new PeerlinkError('BAD_FLAG', `cannot create the token file ${file}: ${code ?? (err as Error).message}`)
  } finally {
    try {
      unlinkSync(temp)
    } catch {
      // already gone
    }
  }
}

function createExclusively(file: string, token: string): string {
  try {
    writeFileSync(file, `${token}\n`, {mode: 0o600, flag: 'wx'})
    return token
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readWinner(file)
    throw new PeerlinkError('BAD_FLAG', `cannot create the token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** Another process won the race to create the file: its token is the one. */
function readWinner(file: string): string {
  const token = readTokenFile(file)
  if (token === undefined) throw new PeerlinkError('BAD_FLAG', `the token file ${file} vanished while it was being created`)
  return token
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

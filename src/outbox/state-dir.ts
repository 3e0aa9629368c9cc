import os from 'node:os'
import path from 'node:path'

/**
 * Where each kind of sender keeps its state (its id, its outbox, what it has
 * shown), under `$XDG_STATE_HOME/peerlink/` (`~/.local/state/peerlink/`):
 *
 * - a node `start NAME`: `NAME/` (the name spelled safely, see {@link dirName});
 * - `connect --name NAME`: `@connect/NAME/`;
 * - `send`: `@send/`, shared by every `send` of the user (each holds a file of its own there).
 *
 * A spelled name never starts with `@`, so a node can never share a
 * directory with a client command.
 */
export type StateKind = 'node' | 'connect' | 'send'

/** `$XDG_STATE_HOME/peerlink`, or `~/.local/state/peerlink`: a relative XDG_STATE_HOME is invalid (XDG spec) and ignored, as the token code does for XDG_CONFIG_HOME. */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'state')
  return path.join(base, 'peerlink')
}

/** The default state directory of a sender of `kind` named `name` (send has no name). */
export function defaultStateDir(kind: StateKind, name: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = stateHome(env)
  if (kind === 'send') return path.join(home, '@send')
  if (kind === 'connect') return path.join(home, '@connect', dirName(name))
  return path.join(home, dirName(name))
}

/**
 * A name as one safe directory name: letters, digits, `.`, `_` and `-` stay,
 * every other byte is `%XX` (so `../x` or `a/b` never leave the state home,
 * and two different names never meet); a leading `.` is escaped too, so no
 * name is hidden, `.` or `..`.
 */
export function dirName(name: string): string {
  const bytes = Buffer.from(name, 'utf8')
  let out = ''
  for (const [i, b] of bytes.entries()) {
    const c = String.fromCharCode(b)
    const safe = /[A-Za-z0-9_-]/.test(c) || (c === '.' && i > 0)
    out += safe ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out === '' ? '%' : out
}

import {Command, Errors} from '@oclif/core'
import {PeerlinkError} from '../protocol/errors.js'
import {escapeForTerminal, jsonForTerminal} from '../protocol/terminal-text.js'

/**
 * The base of every peerlink command: whatever a user can cause ends as one
 * line on stderr and an exit code (2 for a flag error, 1 at run time), never a
 * stack trace.
 */
export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & {oclif?: {exit?: number}; code?: string}): Promise<never> {
    if (err instanceof Errors.ExitError) throw err
    let code = 1
    let line: string
    if (err instanceof PeerlinkError) {
      code = err.exitCode
      line = err.message
    } else if (isParseError(err)) {
      code = 2
      line = `${oneLine(err.message)} (see ${this.id ? `peerlink ${this.id} --help` : '--help'})`
    } else {
      line = `internal error: ${oneLine(err.message ?? String(err))}`
      if (process.env.DEBUG) process.stderr.write(`${err.stack}\n`)
    }
    // an error line may quote a server (its msg, a close reason): never raw to the terminal
    process.stderr.write(`error: ${escapeForTerminal(line)}\n`)
    throw new Errors.ExitError(code)
  }

  /** A `warning: ...` line on stderr (stdout stays clean for --json). */
  protected warnLine(msg: string): void {
    process.stderr.write(`warning: ${escapeForTerminal(msg)}\n`)
  }

  /** Prints one line of text that may hold text from the network, control characters escaped. */
  protected printLine(text: string): void {
    this.log(escapeForTerminal(text))
  }

  /** Prints `value` as one JSON line: the value exact, nothing in it a terminal would act on. */
  protected printJson(value: unknown): void {
    this.log(jsonForTerminal(JSON.stringify(value)))
  }
}

/** oclif's own parse errors are CLIErrors; a failing custom flag parser comes back as a plain Error it renamed. */
function isParseError(err: Error): boolean {
  return err instanceof Errors.CLIError || /^Parsing --/.test(err.message)
}

/** Folds oclif's multi-line parse messages ("Parsing --grace \n\t invalid ...") into one line. */
function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See more help with/.test(l))
  // oclif prefixes the real reason with "Parsing --flag"; keep the reason, name the flag
  const parsing = /^Parsing (--\S+)/.exec(lines[0] ?? '')
  if (parsing && lines.length > 1) return `${parsing[1]}: ${lines.slice(1).join(' ')}`
  return lines.join(' ')
}

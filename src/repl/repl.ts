import readline from 'node:readline'
import type {NodeEvent} from '../node/events.js'
import {PeerlinkError} from '../protocol/errors.js'
import {parseReplLine, REPL_COMMANDS, REPL_HELP, type ReplCommand} from './grammar.js'
import type {Console} from './console.js'
import type {Renderer} from './render.js'

/** What a REPL drives: a node (`start`) or a bare client (`connect`). */
export interface ReplTarget {
  readonly name: string
  /** sends `message text` to every peer; returns a note for the user when it had to queue */
  send(text: string): string | undefined
  /** own messages not yet acknowledged */
  readonly outbox: number
  drain(timeoutMs: number): Promise<boolean>
  stop(code: number, reason?: string): Promise<void>
  report(event: NodeEvent): void
  /** the answer to `peers`, `stats`, `clients`, `time`: text for people, data for --json */
  answer(cmd: Exclude<ReplCommand['kind'], 'send' | 'help' | 'quit' | 'empty' | 'invalid'>, arg?: string): Promise<{msg: string; data: unknown}>
}

export interface ReplOptions {
  target: ReplTarget
  renderer: Renderer
  console: Console
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** a person at a terminal: prompt, history, colour, questions */
  interactive: boolean
  drainTimeoutMs: number
}

/**
 * Reads lines the same way from a terminal and a pipe. At end of input (or
 * `quit`) it stops reading, waits until every own message is acknowledged (at
 * most the drain timeout), closes with 1001 and resolves with the exit code:
 * 0 if all were acknowledged, 1 otherwise.
 */
export function runRepl(opts: ReplOptions): Promise<number> {
  const {target, renderer, interactive} = opts
  const rl = readline.createInterface({
    input: opts.input,
    output: interactive ? opts.output : undefined,
    terminal: interactive,
    prompt: `${target.name}> `,
    historySize: 500,
  })
  opts.console.attach(interactive ? rl : undefined)

  return new Promise<number>((resolve) => {
    let finishing = false
    let asking = false

    const finish = async (code?: number) => {
      if (finishing) return
      finishing = true
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      opts.console.attach(undefined)
      rl.close()
      resolve(await drainAndStop(target, renderer, opts.drainTimeoutMs, code))
    }

    const quit = async () => {
      if (!interactive || target.outbox === 0) return finish()
      asking = true
      rl.pause()
      opts.console.attach(undefined)
      let leave = false
      try {
        // loaded when asked: the prompt library costs every start of a node or `connect` ~60 ms otherwise
        const {confirm} = await import('@inquirer/prompts')
        leave = await confirm({message: `${target.outbox} message(s) not acknowledged yet. Quit anyway?`, default: false})
      } catch {
        leave = true // Ctrl-C at the question: the person insists
      }
      asking = false
      if (leave) return finish(1)
      opts.console.attach(rl)
      rl.resume()
      rl.prompt()
    }

    const onSignal = () => void finish()

    const handle = async (cmd: ReplCommand) => {
      switch (cmd.kind) {
        case 'empty':
          return
        case 'invalid':
          return renderer.replError(cmd.error)
        case 'send':
          try {
            const note = target.send(cmd.text)
            if (note) target.report({event: 'info', topic: 'send', msg: note})
          } catch (err) {
            if (err instanceof PeerlinkError) renderer.replError(err.message)
            else throw err
          }
          return
        case 'help':
          return target.report({event: 'info', topic: 'help', msg: REPL_HELP, data: REPL_COMMANDS})
        case 'quit':
          return quit()
        default: {
          const arg = cmd.kind === 'time' ? cmd.target : undefined
          try {
            const {msg, data} = await target.answer(cmd.kind, arg)
            target.report({event: 'info', topic: cmd.kind, msg, data})
          } catch (err) {
            if (err instanceof PeerlinkError) renderer.replError(err.message)
            else throw err
          }
        }
      }
    }

    rl.on('line', (line) => {
      if (finishing || asking) return
      void handle(parseReplLine(line)).finally(() => {
        if (interactive && !finishing && !asking) rl.prompt()
      })
    })
    rl.on('close', () => void finish())
    // In a terminal Ctrl-C arrives as readline's SIGINT: quit as a person means it.
    rl.on('SIGINT', () => void quit())
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    if (interactive) rl.prompt()
  })
}

/** For `--no-repl`: serve until SIGINT/SIGTERM, then drain the same way; resolves with the exit code. */
export function serveUntilSignal(target: ReplTarget, renderer: Renderer, drainTimeoutMs: number): Promise<number> {
  return new Promise<number>((resolve) => {
    const onSignal = async () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve(await drainAndStop(target, renderer, drainTimeoutMs))
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/**
 * Waits for every own message to be acknowledged (at most `drainTimeoutMs`),
 * unless `forcedCode` says the user chose to leave now; then stops the target
 * (what is left is reported failed) and returns the exit code.
 */
async function drainAndStop(target: ReplTarget, renderer: Renderer, drainTimeoutMs: number, forcedCode?: number): Promise<number> {
  const acked = forcedCode === undefined ? await target.drain(drainTimeoutMs) : forcedCode === 0
  const code = forcedCode ?? (acked ? 0 : 1)
  await target.stop(code, forcedCode === undefined ? 'not acknowledged within the drain timeout' : 'quit before acknowledged')
  await renderer.flush()
  return code
}

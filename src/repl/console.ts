import readline from 'node:readline'

/**
 * Where text lines go. In a terminal it keeps the prompt and the half-typed
 * line intact while messages arrive (clear the line, print, redraw the
 * prompt), the way wscat does; from a pipe it just writes lines.
 */
export class Console {
  private rl: readline.Interface | undefined

  constructor(
    readonly out: NodeJS.WritableStream = process.stdout,
    readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Attaches the REPL's readline so output can redraw its prompt. */
  attach(rl: readline.Interface | undefined): void {
    this.rl = rl
  }

  line(text: string): void {
    this.write(this.out, text)
  }

  errorLine(text: string): void {
    this.write(this.err, text)
  }

  private write(stream: NodeJS.WritableStream, text: string): void {
    const rl = this.rl
    if (!rl) {
      stream.write(`${text}\n`)
      return
    }
    readline.clearLine(this.out as NodeJS.WriteStream, 0)
    readline.cursorTo(this.out as NodeJS.WriteStream, 0)
    stream.write(`${text}\n`)
    rl.prompt(true)
  }
}

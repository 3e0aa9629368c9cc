/**
 * The reverse commands a node may ask of a client (`cmd N NAME [ARG]`,
 * answered by `res N {json}`), and how the server reads each answer. Pure:
 * the one list the server's routes, the REPL and the client's answers agree on.
 */

/**
 * The server's half of a reverse command: how the client's `res` body turns
 * into the fields of the HTTP answer. Adding a command is one entry here and
 * one function in `src/client/reverse-answers.ts`.
 */
export interface ReverseCommand {
  /** the answer's own fields, read from the `res` body; undefined when the body does not fit */
  read(body: Record<string, unknown>): Record<string, unknown> | undefined
  /** the same fields, empty, for error answers (`{"error":true,"msg":...,"ts":""}`) */
  empty: Record<string, unknown>
}

export const REVERSE_COMMANDS: Record<string, ReverseCommand> = {
  'system-time': {
    read: (body) => (typeof body.ts === 'string' ? {ts: body.ts} : undefined),
    empty: {ts: ''},
  },
}

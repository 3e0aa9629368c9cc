/**
 * Reverse commands a client answers when the server sends `cmd N NAME [ARG]`.
 * Adding a command is one entry here (and one route on the server).
 */
export type ClientCommand = (arg: string | undefined) => Record<string, unknown> | Promise<Record<string, unknown>>

export const CLIENT_COMMANDS: Record<string, ClientCommand> = {
  'system-time': () => ({ts: new Date().toISOString()}),
}

/** Runs a reverse command and returns the body of the `res` frame. */
export async function runClientCommand(name: string, arg: string | undefined): Promise<Record<string, unknown>> {
  const command = Object.hasOwn(CLIENT_COMMANDS, name) ? CLIENT_COMMANDS[name] : undefined
  if (!command) return {error: `unknown command "${name}"`}
  try {
    return await command(arg)
  } catch (err) {
    return {error: err instanceof Error ? err.message : String(err)}
  }
}

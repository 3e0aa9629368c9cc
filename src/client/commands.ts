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

/**
 * The two lines a client prints when it is up (as the reverse-communication
 * seed does): its id, the node it is connected to, and the URL that asks it for
 * its system time. Print them once the server's `welcome` has settled the id.
 */
export function connectBanner(nodeUrl: string, clientId: string): [string, string] {
  const u = new URL(nodeUrl)
  const secure = u.protocol === 'wss:' || u.protocol === 'https:'
  const port = u.port === '' ? (secure ? '443' : '80') : u.port
  const hostPort = `${u.hostname}:${port}`
  return [
    `Client id ${clientId} is running, looking for a server at ${hostPort}`,
    `A GET request to ${secure ? 'https' : 'http'}://${hostPort}/clients/${clientId}/system-time will result in reporting this client's system time`,
  ]
}

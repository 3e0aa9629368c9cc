/** The REPL's line grammar, pure: a typed line becomes a command or an error with a hint. */
export type ReplCommand =
  | {kind: 'send'; text: string}
  | {kind: 'peers'}
  | {kind: 'clients'}
  | {kind: 'time'; target: string}
  | {kind: 'stats'}
  | {kind: 'help'}
  | {kind: 'quit'}
  | {kind: 'empty'}
  | {kind: 'invalid'; error: string}

/** The REPL's commands, for `help` (text) and its `--json` data. */
export const REPL_COMMANDS: ReadonlyArray<{command: string; description: string}> = [
  {command: '1 <message>', description: 'send <message> to every peer; each peer shows it and acknowledges'},
  {command: 'peers', description: 'list peer links and their unacknowledged messages'},
  {command: 'clients', description: 'list the client table'},
  {command: 'time <id|name>', description: 'ask a connected client for its system time'},
  {command: 'stats', description: 'counters: connections, peers, pending, outbox, clients'},
  {command: 'help', description: 'this list'},
  {command: 'quit', description: 'stop (waits for acknowledgements; asks first in a terminal)'},
]

export const REPL_HELP = ['commands:', ...REPL_COMMANDS.map((c) => `  ${c.command.padEnd(15)} ${c.description}`)].join('\n')

const HINT = 'type "help" for the commands, e.g. "1 hello"'

/** Parses one REPL line. */
export function parseReplLine(raw: string): ReplCommand {
  const line = raw.replace(/\r$/, '')
  const trimmed = line.trim()
  if (trimmed === '') return {kind: 'empty'}
  const m = /^\s*(\S+)(?:\s(.*))?$/s.exec(line) as RegExpExecArray
  const word = m[1]
  const rest = m[2] ?? ''
  switch (word) {
    case '1':
      // everything after "1 " is the message, inner and trailing spaces included
      return rest.trim() === '' ? {kind: 'invalid', error: 'empty message: type "1 <message>", e.g. "1 hello"'} : {kind: 'send', text: rest}
    case 'peers':
    case 'clients':
    case 'stats':
    case 'help':
    case 'quit':
      return rest.trim() === '' ? {kind: word} : {kind: 'invalid', error: `"${word}" takes no argument; ${HINT}`}
    case 'exit':
      return {kind: 'quit'}
    case 'time':
      return rest.trim() === '' ? {kind: 'invalid', error: 'time needs a client: "time <id|name>" (see "clients")'} : {kind: 'time', target: rest.trim()}
    default: {
      const shown = word.length > 20 ? `${word.slice(0, 20)}…` : word
      return {kind: 'invalid', error: `unknown command "${shown}"; ${HINT}`}
    }
  }
}

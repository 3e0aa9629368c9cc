import {PRESETS} from './presets.js'
import {checkWsUrl} from './flags.js'

/** What `peerlink start` with no name asks a person at a terminal. */
export async function askNodeSetup(): Promise<{name: string; port?: number; peers?: string[]}> {
  // loaded only when a person is asked: every other start would pay ~60 ms for it
  const {input, select} = await import('@inquirer/prompts')
  const choice = await select({
    message: 'Which node is this?',
    choices: [
      {name: 'A  (listens on 8080, dials B on 8081)', value: 'A'},
      {name: 'B  (listens on 8081, dials A on 8080)', value: 'B'},
      {name: 'another name, port and peer', value: ''},
    ],
  })
  if (choice) return {name: choice}
  const name = await input({message: 'Node name:', validate: (v) => (v.trim() ? true : 'a name is needed')})
  const port = await input({
    message: 'Port to listen on:',
    default: '8080',
    validate: (v) => (/^\d+$/.test(v) && Number(v) <= 65535 ? true : 'a port is a number from 0 to 65535'),
  })
  const peer = await input({
    message: `Peer URL to dial, e.g. ${PRESETS.A.peer} (empty for none):`,
    validate: (v) => {
      if (!v.trim()) return true
      try {
        checkWsUrl(v.trim())
        return true
      } catch (err) {
        return (err as Error).message
      }
    },
  })
  return {name: name.trim(), port: Number(port), peers: peer.trim() ? [peer.trim()] : []}
}

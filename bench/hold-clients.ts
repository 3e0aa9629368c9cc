/**
 * A child of bench/cluster.ts: opens its share of the held connections, says
 * how many are open, holds them until told to close, then closes them all.
 * One process holds at most ~15 000 (the open-file limit is 20 000).
 */
import type WebSocket from 'ws'
import {closeAll, openAll} from './roundtrips.js'

interface Job {
  url: string
  n: number
}

let sockets: WebSocket[] = []
process.on('message', async (m: {type: 'open'; job: Job} | {type: 'close'}) => {
  if (m.type === 'open') {
    try {
      sockets = await openAll(m.job.url, m.job.n)
      process.send?.({type: 'opened', n: sockets.length})
    } catch (err) {
      process.send?.({type: 'failed', error: (err as Error).message})
    }
  } else {
    await closeAll(sockets)
    process.send?.({type: 'closed'})
    process.disconnect()
  }
})

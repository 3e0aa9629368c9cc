/**
 * The minimal reference relay: the peerlink relay protocol in ~40 lines on
 * bare `ws`, no auth, no events, no hello. The benchmarks measure the
 * peerlink node against it. Besides `/ws` it answers `GET /stats` with its
 * connections and pending entries, so that `peerlink load` (which checks a
 * target's zero state there) can load it like a node.
 * Usage: node --import tsx bench/reference-relay.ts [PORT]
 */
import http from 'node:http'
import {WebSocketServer, WebSocket} from 'ws'

const conns: WebSocket[] = []
const index = new Map<WebSocket, number>()
const origins = new Map<string, Set<WebSocket>>()
const holders = new Map<string, WebSocket>()

const pick = (): WebSocket | undefined => {
  for (let i = 0; i < 4 && conns.length > 0; i++) {
    const c = conns[Math.floor(Math.random() * conns.length)]
    if (c.readyState === WebSocket.OPEN) return c
  }
  const open = conns.filter((c) => c.readyState === WebSocket.OPEN)
  return open[Math.floor(Math.random() * open.length)]
}
const forward = (x: string) => {
  const to = pick()
  if (to) (holders.set(x, to), to.send(`message ${x}`))
}

const server = http.createServer((req, res) => {
  if (req.url !== '/stats') return void res.writeHead(404).end()
  res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({connections: conns.length, pending: origins.size}))
})
const wss = new WebSocketServer({server, path: '/ws', perMessageDeflate: false, clientTracking: false})
wss.on('connection', (ws) => {
  index.set(ws, conns.push(ws) - 1)
  ws.on('message', (data) => {
    const s = data.toString()
    const x = s.slice(s.indexOf(' ') + 1)
    if (s.startsWith('message ')) {
      const o = origins.get(x) ?? new Set()
      origins.set(x, o.add(ws))
      forward(x)
    } else if (s.startsWith('ok ')) {
      for (const o of origins.get(x) ?? []) if (o.readyState === WebSocket.OPEN) o.send(s)
      origins.delete(x)
      holders.delete(x)
    }
  })
  ws.on('close', () => {
    const i = index.get(ws) as number
    const last = conns.pop() as WebSocket
    if (last !== ws) (conns[i] = last), index.set(last, i)
    index.delete(ws)
    for (const [x, o] of origins) if (o.delete(ws) && o.size === 0) (origins.delete(x), holders.delete(x))
    for (const [x, h] of holders) if (h === ws) forward(x)
  })
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ws://127.0.0.1:${(server.address() as {port: number}).port}/ws`))
// a benchmark stops it with SIGTERM when it profiles it (--cpu-prof writes its profile on a normal exit)
process.on('SIGTERM', () => process.exit(0))

import net from 'node:net'

/** A port that was free a moment ago (for setups where a node must know its peer's port in advance). Free of vitest, so benchmarks use it too. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

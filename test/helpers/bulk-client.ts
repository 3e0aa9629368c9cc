import WebSocket from 'ws'

/**
 * A relay client for big messages that keeps nothing but numbers: it answers
 * every `message Y` with `ok Y` and counts the oks of its own messages, which
 * are `PREFIX:i:` and padding up to `bytes`. Free of vitest: the slow-reader
 * benchmark (bench/slow-reader.ts) drives the same case with it.
 */
export class BulkClient {
  readonly ws: WebSocket
  readonly acked = new Set<number>()
  readonly opened: Promise<void>
  readonly closed: Promise<{code: number; reason: string}>
  private readonly waiters = new Set<() => void>()
  /** sends more of a sendAll once its socket buffer has room (after any write of this client completed) */
  private pump: () => void = () => {}

  constructor(url: string, token: string) {
    this.ws = new WebSocket(url, {headers: {authorization: `Bearer ${token}`}, perMessageDeflate: false})
    this.ws.on('error', () => {})
    this.opened = new Promise((resolve, reject) => this.ws.once('open', () => resolve()).once('error', reject))
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({code, reason: reason.toString()})))
    this.ws.on('message', (data) => {
      const frame = data.toString()
      if (frame.startsWith('message ')) {
        if (this.ws.readyState === WebSocket.OPEN) this.ws.send(`ok ${frame.slice(8)}`, () => this.pump())
        return
      }
      if (!frame.startsWith('ok ')) return
      const [, n] = frame.slice(3, 64).split(':')
      this.acked.add(Number(n))
      this.waiters.forEach((w) => w())
    })
  }

  static text(prefix: string, i: number, bytes: number): string {
    const head = `${prefix}:${i}:`
    return head + 'x'.repeat(bytes - head.length)
  }

  /**
   * Sends `n` messages of `bytes` each, keeping at most a few MiB in its own
   * socket buffer; resolves once the last one was written to the socket.
   * (Paced by the socket, not by acknowledgements: some of them go to a
   * reader that will not answer for a while.)
   */
  sendAll(prefix: string, n: number, bytes: number): Promise<void> {
    let next = 0
    return new Promise((resolve, reject) => {
      const sendMore = () => {
        while (next < n && this.ws.bufferedAmount < 4 * 1024 * 1024) {
          const last = next === n - 1
          this.ws.send(`message ${BulkClient.text(prefix, next++, bytes)}`, (err) => {
            if (err) return reject(err)
            if (!last) return sendMore()
            this.pump = () => {}
            resolve()
          })
        }
      }
      this.pump = sendMore
      sendMore()
    })
  }

  /** Resolves once `n` of its own messages were acknowledged. */
  ackedAtLeast(n: number, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`${this.acked.size} of ${n} acknowledged`))
      }, timeoutMs)
      const check = () => {
        if (this.acked.size < n) return
        this.waiters.delete(check)
        clearTimeout(timer)
        resolve()
      }
      this.waiters.add(check)
      check()
    })
  }
}

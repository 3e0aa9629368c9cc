import WebSocket from 'ws'
import {TestClient} from './ws.js'

/**
 * A well-behaved raw relay client: answers every `message Y` with `ok Y`
 * (after `ackDelayMs`, so that traffic is still in flight while a test does
 * something else) and can wait for the `ok` of its own messages.
 */
export class AckingClient extends TestClient {
  private readonly oks = new Set<string>()
  private readonly okWaiters = new Set<() => void>()
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(url: string, opts: WebSocket.ClientOptions, ackDelayMs = 0) {
    super(url, opts)
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return
      const text = data.toString()
      if (text.startsWith('message ')) {
        const answer = `ok ${text.slice(8)}`
        if (ackDelayMs <= 0) return this.reply(answer)
        const timer = setTimeout(() => {
          this.timers.delete(timer)
          this.reply(answer)
        }, ackDelayMs)
        this.timers.add(timer)
      } else if (text.startsWith('ok ')) {
        this.oks.add(text.slice(3))
        this.okWaiters.forEach((w) => w())
      }
    })
  }

  /** Sends `message <prefix>-<i>` for i < n; resolves once every one was acknowledged. */
  sendMany(prefix: string, n: number, timeoutMs = 30_000): Promise<void> {
    const texts = Array.from({length: n}, (_, i) => `${prefix}-${i}`)
    for (const t of texts) this.send(`message ${t}`)
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!texts.every((t) => this.oks.has(t))) return
        this.okWaiters.delete(check)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.okWaiters.delete(check)
        reject(new Error(`${prefix}: ${texts.filter((t) => !this.oks.has(t)).length} of ${n} not acknowledged`))
      }, timeoutMs)
      this.okWaiters.add(check)
      check()
    })
  }

  override close(): Promise<{code: number; reason: string}> {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    return super.close()
  }

  private reply(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text)
  }
}

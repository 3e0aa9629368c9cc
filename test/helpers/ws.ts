import WebSocket from 'ws'

/** A raw WebSocket client for tests: records every text frame and lets a test await one. */
export class TestClient {
  readonly frames: string[] = []
  readonly ws: WebSocket
  closed: Promise<{code: number; reason: string}>
  private waiters = new Set<() => void>()

  constructor(url: string, opts: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, opts)
    this.ws.on('message', (data) => {
      this.frames.push(data.toString())
      this.waiters.forEach((w) => w())
    })
    this.ws.on('error', () => {})
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({code, reason: reason.toString()})))
  }

  /** Resolves once connected; rejects with the upgrade error. */
  open(): Promise<this> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve(this)
      this.ws.once('open', () => resolve(this))
      this.ws.once('error', reject)
    })
  }

  send(text: string): void {
    this.ws.send(text)
  }

  /** Waits for a frame matching `pred` (already received ones count) and returns it. */
  waitFor(pred: (frame: string) => boolean, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.frames.find(pred)
        if (hit !== undefined) {
          this.waiters.delete(check)
          clearTimeout(timer)
          resolve(hit)
        }
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out; frames so far: ${JSON.stringify(this.frames.slice(-10))}`))
      }, timeoutMs)
      this.waiters.add(check)
      check()
    })
  }

  close(): Promise<{code: number; reason: string}> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close()
    return this.closed
  }
}

/** Opens `n` raw clients to `url`. */
export function openClients(url: string, n: number, opts: WebSocket.ClientOptions = {}): Promise<TestClient[]> {
  return Promise.all(Array.from({length: n}, () => new TestClient(url, opts).open()))
}

/** Waits until `cond()` holds, checking every few milliseconds (for conditions spanning several clients). */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

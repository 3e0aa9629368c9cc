import {PeerlinkError} from '../protocol/errors.js'
import {encodeFrame} from '../protocol/frame.js'

/** A client that does not answer a reverse command within this time is reported as a timeout (HTTP 504). */
export const ASK_TIMEOUT_MS = 5000

/** What a command can be sent over: a connection that takes text frames. */
export interface CommandPeer {
  send(text: string): void
}

interface Waiting<C> {
  conn: C
  resolve: (body: Record<string, unknown>) => void
  reject: (err: PeerlinkError) => void
  timer: NodeJS.Timeout
}

/**
 * Sends `cmd N NAME [ARG]` to connections and matches their `res N {json}`
 * answers by N. Every question ends once: answered, timed out, or failed
 * because its connection closed; its timer goes with it.
 */
export class ReverseCommands<C extends CommandPeer> {
  private nextN = 1
  private readonly waiting = new Map<number, Waiting<C>>()

  /** Questions still waiting for an answer. */
  get pending(): number {
    return this.waiting.size
  }

  /**
   * Asks `conn` to run `name`; resolves with the body of its `res`. Rejects
   * with TIMEOUT after `timeoutMs`, UNREACHABLE when the connection closes
   * first, BAD_RESPONSE when the client answered `{"error": ...}`.
   */
  ask(conn: C, name: string, arg?: string, timeoutMs = ASK_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const n = this.nextN++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(n)
        reject(new PeerlinkError('TIMEOUT', `no answer to ${name} within ${timeoutMs / 1000}s`))
      }, timeoutMs)
      timer.unref()
      this.waiting.set(n, {conn, resolve, reject, timer})
      conn.send(encodeFrame(arg === undefined ? {verb: 'cmd', n, name} : {verb: 'cmd', n, name, arg}))
    })
  }

  /** A `res N` arrived from `conn`; false when nothing from that connection waits for N (late or foreign). */
  answer(conn: C, n: number, body: Record<string, unknown>): boolean {
    const w = this.waiting.get(n)
    if (!w || w.conn !== conn) return false
    this.waiting.delete(n)
    clearTimeout(w.timer)
    if (body.error !== undefined && body.error !== false) {
      w.reject(new PeerlinkError('BAD_RESPONSE', `the client answered: ${typeof body.error === 'string' ? body.error : JSON.stringify(body.error)}`))
    } else {
      w.resolve(body)
    }
    return true
  }

  /** `conn` closed: every question to it fails at once. */
  drop(conn: C): void {
    for (const [n, w] of this.waiting) {
      if (w.conn !== conn) continue
      this.waiting.delete(n)
      clearTimeout(w.timer)
      w.reject(new PeerlinkError('UNREACHABLE', 'the client disconnected before answering'))
    }
  }

  /** Fails every question (the node stops). */
  close(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer)
      w.reject(new PeerlinkError('UNREACHABLE', 'the node is stopping'))
    }
    this.waiting.clear()
  }
}

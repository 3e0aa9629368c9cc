import {randomBytes} from 'node:crypto'
import net from 'node:net'

/** WebSocket opcodes (RFC 6455 §5.2). */
export const OP = {continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa} as const

export interface RawFrameOptions {
  fin?: boolean
  /** the three RSV bits, as a number 0..7 */
  rsv?: number
  /** clients must mask; false sends an unmasked frame, which a server must refuse */
  mask?: boolean
}

/** Encodes one WebSocket frame by hand, so tests can send what no library would. */
export function rawFrame(opcode: number, payload: Buffer | string, opts: RawFrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  const mask = opts.mask ?? true
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode]
  const maskBit = mask ? 0x80 : 0
  if (data.length < 126) head.push(maskBit | data.length)
  else if (data.length < 65536) head.push(maskBit | 126, data.length >> 8, data.length & 0xff)
  else {
    const len = Buffer.alloc(8)
    len.writeBigUInt64BE(BigInt(data.length))
    head.push(maskBit | 127, ...len)
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data])
  const key = randomBytes(4)
  const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]))
  return Buffer.concat([Buffer.from(head), key, masked])
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(code)
  return Buffer.concat([b, Buffer.from(reason)])
}

export interface ServerFrame {
  opcode: number
  payload: Buffer
}

/**
 * A WebSocket client on a bare TCP socket: it upgrades by hand and then lets a
 * test write any bytes and read the server's frames (which are never masked).
 */
export class RawSocket {
  readonly frames: ServerFrame[] = []
  /** the status line and headers of the server's answer to the upgrade (or to any request written by hand) */
  response = ''
  /** what followed the headers of an answer that is not 101 (its body), as text */
  body = ''
  readonly closed: Promise<void>
  private buffered = Buffer.alloc(0)
  private upgraded = false
  private waiters = new Set<() => void>()

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()))
    void this.closed.then(() => this.poke())
  }

  /**
   * Connects to `port` (no request sent yet). With `allowHalfOpen` the socket
   * keeps its side open when the server closes its own, until destroyed.
   */
  static connect(port: number, opts: {allowHalfOpen?: boolean} = {}): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false})
      socket.once('connect', () => resolve(new RawSocket(socket)))
      socket.once('error', reject)
    })
  }

  /** Connects and upgrades `path`; resolves once the server answered (whatever the status). */
  static async upgrade(port: number, path: string, headers: Record<string, string> = {}, opts: {allowHalfOpen?: boolean} = {}): Promise<RawSocket> {
    const raw = await RawSocket.connect(port, opts)
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ]
    raw.socket.write(`${lines.join('\r\n')}\r\n\r\n`)
    await raw.until(() => raw.response !== '' || raw.socket.destroyed)
    return raw
  }

  get status(): number {
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(this.response)?.[1] ?? 0)
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes)
  }

  /** The code of the server's close frame, once it sent one. */
  closeCode(): number | undefined {
    const close = this.frames.find((f) => f.opcode === OP.close)
    return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : close ? 1005 : undefined
  }

  texts(): string[] {
    return this.frames.filter((f) => f.opcode === OP.text).map((f) => f.payload.toString())
  }

  /** Resolves once `cond` holds (checked on every chunk and at close); rejects after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return
        this.waiters.delete(check)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out; response ${JSON.stringify(this.response)}, frames ${JSON.stringify(this.frames.map((f) => [f.opcode, f.payload.toString()]).slice(-5))}`))
      }, timeoutMs)
      this.waiters.add(check)
      check()
    })
  }

  destroy(): void {
    this.socket.destroy()
  }

  private poke(): void {
    for (const w of [...this.waiters]) w()
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk])
    if (!this.upgraded) {
      const end = this.buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      this.response = this.buffered.subarray(0, end).toString()
      this.upgraded = true
      this.buffered = this.buffered.subarray(end + 4)
      // an error answer carries a body; it is no frame
      if (this.status !== 101) {
        this.body += this.buffered.toString()
        this.buffered = Buffer.alloc(0)
      }
    } else if (this.status !== 101) {
      this.body += this.buffered.toString()
      this.buffered = Buffer.alloc(0)
    }
    this.parseFrames()
    this.poke()
  }

  private parseFrames(): void {
    if (this.status !== 101) return
    for (;;) {
      const b = this.buffered
      if (b.length < 2) return
      let len = b[1] & 0x7f
      let offset = 2
      if (len === 126) {
        if (b.length < 4) return
        len = b.readUInt16BE(2)
        offset = 4
      } else if (len === 127) {
        if (b.length < 10) return
        len = Number(b.readBigUInt64BE(2))
        offset = 10
      }
      if (b.length < offset + len) return
      this.frames.push({opcode: b[0] & 0x0f, payload: b.subarray(offset, offset + len)})
      this.buffered = b.subarray(offset + len)
    }
  }
}

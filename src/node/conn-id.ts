import {randomFillSync} from 'node:crypto'

/** Random bytes drawn from the OS at a time: the ids of 256 connections. */
const POOL_BYTES = 16 * 256
const pool = Buffer.allocUnsafe(POOL_BYTES)
let used = POOL_BYTES
/** where an id's 36 characters are written before they become one string */
const text = Buffer.allocUnsafe(36)
const HEX = Buffer.from('0123456789abcdef', 'latin1')
const DASH = 0x2d

/**
 * A random UUID (version 4, RFC 9562 §5.4) for a new connection, as one
 * flat string.
 *
 * `crypto.randomUUID()` joins its hex pieces into a string V8 keeps as a
 * tree of a dozen pieces; kept for a connection's life, that tree was most
 * of what an id cost, and flattening it took a copy on top. Here the 36
 * characters are written into a buffer and read out as one string, from
 * random bytes drawn from the OS (`randomFillSync`, the source randomUUID
 * uses) 4 KiB at a time, as randomUUID does.
 */
export function connectionId(): string {
  if (used === POOL_BYTES) {
    randomFillSync(pool)
    used = 0
  }
  const at = used
  used += 16
  // the version (4) and the variant (binary 10) bits
  pool[at + 6] = (pool[at + 6] & 0x0f) | 0x40
  pool[at + 8] = (pool[at + 8] & 0x3f) | 0x80
  let o = 0
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[o++] = DASH
    const b = pool[at + i]
    text[o++] = HEX[b >> 4]
    text[o++] = HEX[b & 0x0f]
  }
  return text.toString('latin1', 0, 36)
}

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startNode, type Spawned} from '../helpers/cli.js'
import {TestClient} from '../helpers/ws.js'

/**
 * The node writes its relay frames itself (server.ts writeTextFrame): the
 * header's three length encodings (7 bits, 16 bits, 64 bits), the one-buffer
 * and the two-write forms, and text of any UTF-8 must reach a standard
 * client (ws, which checks the framing and the UTF-8) byte for byte.
 */
let node: Spawned & {url: string; port: number}
let client: TestClient

beforeAll(async () => {
  node = await startNode(['frames', '--port', '0', '--no-repl', '--no-auth', '--max-payload', '2MiB'])
  client = await new TestClient(node.url).open()
})

afterAll(async () => {
  await client?.close()
  node.kill('SIGTERM')
  await node.exited
})

/** A text of exactly `bytes` UTF-8 bytes: some 2-, 3- and 4-byte characters, then ASCII. */
function textOf(bytes: number, tag: string): string {
  const head = `${tag}-é€😀`
  return head + 'x'.repeat(bytes - Buffer.byteLength(head))
}

describe('relay frames of every size the header encodes', () => {
  // frame lengths ("message " + text) around each boundary of the length encoding and of the copy into one buffer
  const sizes = [24, 125, 126, 127, 4095, 4096, 4097, 4104, 65535, 65536, 65537, 1_000_000]
  it.each(sizes)('a `message X` frame of %i bytes and its ok arrive exactly as sent', async (frameBytes) => {
    const text = textOf(frameBytes - 'message '.length, `s${frameBytes}`)
    expect(Buffer.byteLength(`message ${text}`)).toBe(frameBytes)
    // the only connection is the receiver of its own message
    client.send(`message ${text}`)
    expect(await client.waitFor((f) => f === `message ${text}`)).toBe(`message ${text}`)
    client.send(`ok ${text}`)
    expect(await client.waitFor((f) => f === `ok ${text}`)).toBe(`ok ${text}`)
  })
})

import {Writable} from 'node:stream'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import type {NodeEvent} from '../../src/node/events.js'
import {jsonForTerminal} from '../../src/protocol/terminal-text.js'
import {Console} from '../../src/repl/console.js'
import {JSON_CHUNK_BYTES, JsonRenderer, RELAY_LINES_PER_SECOND, TextRenderer} from '../../src/repl/render.js'

/**
 * A stream that keeps what is written to it, line by line, and counts its
 * writes. A slow one reads each chunk only a turn later, as a socket with a
 * full buffer would: a writer that reused a chunk before its write's
 * callback would be caught.
 */
function sink({slow = false} = {}): {stream: Writable; lines: () => string[]; writes: () => number; written: Promise<void>} {
  let text = ''
  let writes = 0
  let wrote = () => {}
  const written = new Promise<void>((resolve) => (wrote = resolve))
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const take = () => {
        text += chunk.toString()
        if (chunk.length > 0) writes++
        wrote()
        done()
      }
      if (slow) setImmediate(take)
      else take()
    },
  })
  return {stream, lines: () => text.split('\n').filter((l) => l !== ''), writes: () => writes, written}
}

const relayed = (i: number): NodeEvent => ({event: 'message_relayed', from: 'a', text: `x${i}`, to: 'b'})

describe('the text renderer', () => {
  it('needs only sampled relay events: it shows those and folds the rest from the relay\'s count', async () => {
    const out = sink()
    const renderer = new TextRenderer('n', new Console(out.stream, sink().stream), false)
    expect(renderer.relayEvents).toBe('sampled')
    let count = 0
    renderer.countFoldedFrom(() => ({relayed: count, connected: 0, disconnected: 0}))
    // the relay counts every message and reports the first few as events
    for (let i = 0; i < 3; i++) {
      count++
      renderer.event(relayed(i))
    }
    count += 500
    await renderer.flush()
    const lines = out.lines()
    expect(lines.filter((l) => l.includes('relayed "x'))).toHaveLength(3)
    expect(lines.at(-1)).toMatch(new RegExp(`relayed 500 messages \\(more than ${RELAY_LINES_PER_SECOND}/s, folded\\)$`))
    // nothing more happened: no further summary
    await renderer.flush()
    expect(out.lines()).toHaveLength(lines.length)
  })

  it("folds clients connecting and disconnecting from the node's counts, beside the sampled few it shows", async () => {
    const out = sink()
    const renderer = new TextRenderer('n', new Console(out.stream, sink().stream), false)
    const totals = {relayed: 0, connected: 0, disconnected: 0}
    renderer.countFoldedFrom(() => ({...totals}))
    // the node counts every client and reports a sampled few
    totals.connected = 300
    for (let i = 0; i < 2; i++) renderer.event({event: 'client_connected', id: `id${i}`, name: `c${i}`, role: 'client', ip: '127.0.0.1', port: 1000 + i})
    totals.disconnected = 120
    renderer.event({event: 'client_disconnected', id: 'id0', name: 'c0', role: 'client', code: 1000, reason: ''})
    // a peer node is never folded nor counted
    renderer.event({event: 'client_connected', id: 'p', name: 'B', role: 'node', ip: '127.0.0.1', port: 9})
    await renderer.flush()
    const lines = out.lines()
    expect(lines.filter((l) => / client c\d connected/.test(l))).toHaveLength(2)
    expect(lines.filter((l) => l.includes('client c0 disconnected (1000)'))).toHaveLength(1)
    expect(lines.filter((l) => l.includes('peer B dialed in'))).toHaveLength(1)
    expect(lines.at(-1)).toMatch(new RegExp(`298 clients connected, 119 disconnected \\(more than ${RELAY_LINES_PER_SECOND}/s, folded\\)$`))
  })

  it('folds by itself when it is given every event and no count', async () => {
    const out = sink()
    const renderer = new TextRenderer('n', new Console(out.stream, sink().stream), false)
    for (let i = 0; i < RELAY_LINES_PER_SECOND + 7; i++) renderer.event(relayed(i))
    await renderer.flush()
    const lines = out.lines()
    expect(lines.filter((l) => l.includes('relayed "x'))).toHaveLength(RELAY_LINES_PER_SECOND)
    expect(lines.at(-1)).toMatch(/relayed 7 messages/)
  })
})

/**
 * Names and texts for the relayed-line property: any UTF-16 (lone surrogates
 * too), printable ASCII (the fast path) and ASCII with its edges mixed in
 * (U+001F, DEL, U+0080, quotes and backslashes: where the fast path must
 * give way to the general one).
 */
const piece = fc.oneof(
  fc.string({unit: 'binary'}),
  fc.string({unit: fc.integer({min: 0x20, max: 0x7e}).map((c) => String.fromCharCode(c))}),
  fc.string({unit: fc.integer({min: 0x1f, max: 0x80}).map((c) => String.fromCharCode(c))}),
  fc.string({unit: fc.constantFrom('a', '"', '\\', '\u202e', '\u2028', '\x9b', '\x1b', '\n', 'é', '😀')}),
)

describe('the NDJSON renderer', () => {
  it('needs every relay event and writes each', async () => {
    const out = sink()
    const renderer = new JsonRenderer('n', out.stream)
    expect(renderer.relayEvents).toBe('every')
    for (let i = 0; i < 50; i++) renderer.event(relayed(i))
    await renderer.flush()
    const lines = out.lines().map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(50)
    expect(lines[7]).toEqual({ts: expect.any(String), node: 'n', event: 'message_relayed', from: 'a', text: 'x7', to: 'b'})
  })

  it('writes what it was given by itself, without being flushed', async () => {
    const out = sink()
    const renderer = new JsonRenderer('n', out.stream)
    renderer.event(relayed(1))
    await out.written
    expect(out.lines().map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([{event: 'message_relayed', text: 'x1'}])
  })

  it.each([
    ['a stream that takes each write at once', false],
    ['a slow stream', true],
  ])('keeps the order and every byte of lines across many writes, a line longer than a whole write among them (%s)', async (_, slow) => {
    const out = sink({slow})
    const renderer = new JsonRenderer('n', out.stream)
    // multi-byte text (2, 3 and 4 bytes in UTF-8), so a chunk fills before its bound in UTF-16 units
    const text = (i: number) => `${i} é€😀`.repeat(1 + (i % 40))
    const long = 'ü'.repeat(3 * JSON_CHUNK_BYTES)
    const events: NodeEvent[] = []
    for (let i = 0; i < 3000; i++) events.push({event: 'message_relayed', from: `c${i % 7}`, text: i === 1500 ? long : text(i), to: 'b'})
    for (const ev of events) renderer.event(ev)
    await renderer.flush()
    const lines = out.lines().map((l) => JSON.parse(l) as {text: string})
    expect(lines.map((l) => l.text)).toEqual(events.map((ev) => (ev as {text: string}).text))
    // the batches were written as they filled, not as one
    expect(out.writes()).toBeGreaterThan(10)
  })

  it('writes a relayed message as JSON.stringify would, whatever its names and text hold (quotes, controls, lone surrogates)', async () => {
    await fc.assert(
      fc.asyncProperty(piece, piece, piece, async (from, text, to) => {
        const out = sink()
        const renderer = new JsonRenderer('n', out.stream)
        const ev: NodeEvent = {event: 'message_relayed', from, text, to}
        renderer.event(ev)
        await renderer.flush()
        const [line] = out.lines()
        const ts = (JSON.parse(line) as {ts: string}).ts
        // byte for byte what the generic path makes of the same event
        expect(line).toBe(jsonForTerminal(JSON.stringify({ts, node: 'n', ...ev})))
      }),
      {numRuns: 300},
    )
  })

  it('escapes what a terminal would act on in every line, the node name and other events included, and the values stay exact', async () => {
    const out = sink()
    const name = 'n\u202e\x9b'
    const renderer = new JsonRenderer(name, out.stream)
    renderer.event({event: 'error', msg: 'bad \u2028 \x1b[2J \u2066'})
    renderer.event({event: 'message_relayed', from: 'a\u200f', text: '"q" \\ \x7f', to: 'b'})
    await renderer.flush()
    const lines = out.lines()
    expect(lines).toHaveLength(2)
    for (const line of lines) expect(line).toMatch(/^[\x20-\x7e]*$/)
    expect(JSON.parse(lines[0])).toMatchObject({node: name, event: 'error', msg: 'bad \u2028 \x1b[2J \u2066'})
    expect(JSON.parse(lines[1])).toMatchObject({node: name, from: 'a\u200f', text: '"q" \\ \x7f', to: 'b'})
  })
})

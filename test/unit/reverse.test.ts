import {afterEach, describe, expect, it, vi} from 'vitest'
import {ReverseCommands} from '../../src/node/reverse-asks.js'
import {CLIENT_COMMANDS, runClientCommand} from '../../src/client/reverse-answers.js'
import {connectBanner} from '../../src/client/urls.js'
import {decodeFrame} from '../../src/protocol/frame.js'

/** A connection that records what it was sent. */
function fakeConn() {
  const sent: string[] = []
  return {sent, send: (text: string) => void sent.push(text)}
}

describe('reverse commands, server side', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends cmd N NAME and resolves with the matching res body', async () => {
    const asks = new ReverseCommands<ReturnType<typeof fakeConn>>()
    const conn = fakeConn()
    const answer = asks.ask(conn, 'system-time')
    const decoded = decodeFrame(conn.sent[0])
    expect(decoded).toMatchObject({ok: true, frame: {verb: 'cmd', name: 'system-time'}})
    const n = (decoded as {frame: {n: number}}).frame.n
    expect(asks.answer(conn, n, {ts: '2026-11-22T18:42:50.123Z'})).toBe(true)
    await expect(answer).resolves.toEqual({ts: '2026-11-22T18:42:50.123Z'})
    expect(asks.pending).toBe(0)
  })

  it('numbers questions so that answers find their question', async () => {
    const asks = new ReverseCommands<ReturnType<typeof fakeConn>>()
    const conn = fakeConn()
    const first = asks.ask(conn, 'system-time')
    const second = asks.ask(conn, 'system-time')
    const [n1, n2] = conn.sent.map((f) => Number(f.split(' ')[1]))
    expect(n1).not.toBe(n2)
    asks.answer(conn, n2, {ts: 'second'})
    asks.answer(conn, n1, {ts: 'first'})
    await expect(first).resolves.toEqual({ts: 'first'})
    await expect(second).resolves.toEqual({ts: 'second'})
  })

  it('ignores an answer from another connection or to no question', () => {
    const asks = new ReverseCommands<ReturnType<typeof fakeConn>>()
    const conn = fakeConn()
    void asks.ask(conn, 'system-time').catch(() => {})
    const n = Number(conn.sent[0].split(' ')[1])
    expect(asks.answer(fakeConn(), n, {ts: 'x'})).toBe(false)
    expect(asks.answer(conn, n + 100, {ts: 'x'})).toBe(false)
    expect(asks.pending).toBe(1)
    asks.close()
  })

  it('times out a client that never answers, and forgets the question', async () => {
    vi.useFakeTimers()
    const asks = new ReverseCommands<ReturnType<typeof fakeConn>>()
    const answer = asks.ask(fakeConn(), 'system-time', undefined, 5000)
    const seen = expect(answer).rejects.toMatchObject({code: 'TIMEOUT'})
    vi.advanceTimersByTime(5000)
    await seen
    expect(asks.pending).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('fails the questions of a connection that closes, and clears their timers', async () => {
    vi.useFakeTimers()
    const asks = new ReverseCommands<ReturnType<typeof fakeConn>>()
    const conn = fakeConn()
    const answer = asks.ask(conn, 'system-time')
    asks.drop(conn)
    await expect(answer).rejects.toMatchObject({code: 'UNREACHABLE'})
    expect(vi.getTimerCount()).toBe(0)
  })

  it('turns an error answer into a rejection carrying the client\'s reason', async () => {
    const asks = new ReverseCommands<ReturnType<typeof fakeConn>>()
    const conn = fakeConn()
    const answer = asks.ask(conn, 'reboot')
    asks.answer(conn, Number(conn.sent[0].split(' ')[1]), {error: 'unknown command "reboot"'})
    await expect(answer).rejects.toThrow('unknown command "reboot"')
  })
})

describe('reverse commands, client side', () => {
  it('answers system-time with its own clock as ISO 8601 with milliseconds', async () => {
    const body = await runClientCommand('system-time', undefined)
    expect(body.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(Object.keys(CLIENT_COMMANDS)).toContain('system-time')
  })

  it('answers an unknown command with an error', async () => {
    expect(await runClientCommand('reboot', undefined)).toEqual({error: 'unknown command "reboot"'})
  })

  it('prints the two lines of the reverse-communication seed', () => {
    const id = '0b7e3b57-6f0c-4c47-9a5e-1f0f4c1e2d3a'
    expect(connectBanner('ws://127.0.0.1:7777/ws', id)).toEqual([
      `Client id ${id} is running, looking for a server at 127.0.0.1:7777`,
      `A GET request to http://127.0.0.1:7777/clients/${id}/system-time will result in reporting this client's system time`,
    ])
    expect(connectBanner('wss://example.com/ws', id)[1]).toContain(`https://example.com:443/clients/${id}/system-time`)
  })
})

import {describe, expect, it} from 'vitest'
import {parseReplLine} from '../../src/repl/grammar.js'

describe('REPL line grammar', () => {
  it('takes everything after "1 " as the message, spaces included', () => {
    expect(parseReplLine('1 hello')).toEqual({kind: 'send', text: 'hello'})
    expect(parseReplLine('1 hello  world ')).toEqual({kind: 'send', text: 'hello  world '})
    expect(parseReplLine('1 hi\r')).toEqual({kind: 'send', text: 'hi'})
  })

  it('knows the commands', () => {
    for (const kind of ['peers', 'clients', 'stats', 'help', 'quit'] as const) expect(parseReplLine(kind)).toEqual({kind})
    expect(parseReplLine('time linus')).toEqual({kind: 'time', target: 'linus'})
    expect(parseReplLine('   ')).toEqual({kind: 'empty'})
  })

  it('answers bad lines with a one-line error and a hint', () => {
    for (const line of ['1', '1   ', 'send hi', 'peers now', 'time']) {
      const cmd = parseReplLine(line)
      expect(cmd.kind).toBe('invalid')
      if (cmd.kind === 'invalid') {
        expect(cmd.error).not.toContain('\n')
        expect(cmd.error).toMatch(/"|help|time/)
      }
    }
  })
})

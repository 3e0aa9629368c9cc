/**
 * A minimal terminal model: enough of the escape sequences readline and
 * inquirer use (carriage return, cursor to column, clear line, clear below,
 * cursor up) to turn a pty's output into the lines a person would see.
 */
export function renderScreen(raw: string): string[] {
  const rows: string[][] = [[]]
  let row = 0
  let col = 0
  const put = (ch: string) => {
    const line = rows[row]
    while (line.length < col) line.push(' ')
    line[col] = ch
    col++
  }
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]
    if (ch === '\x1b') {
      const m = /^\x1b\[([?\d;]*)([A-Za-z])/.exec(raw.slice(i))
      if (!m) continue
      i += m[0].length - 1
      const n = Number(m[1] || '0')
      switch (m[2]) {
        case 'G':
          col = Math.max(0, (n || 1) - 1)
          break
        case 'K':
          if (n === 2) rows[row] = []
          else rows[row] = rows[row].slice(0, col)
          break
        case 'J':
          rows[row] = rows[row].slice(0, col)
          rows.splice(row + 1)
          break
        case 'A':
          row = Math.max(0, row - (n || 1))
          break
        case 'B':
          row += n || 1
          while (rows.length <= row) rows.push([])
          break
        case 'C':
          col += n || 1
          break
        case 'D':
          col = Math.max(0, col - (n || 1))
          break
        default: // colours and modes change nothing a test reads
      }
    } else if (ch === '\r') {
      col = 0
    } else if (ch === '\n') {
      row++
      col = 0
      while (rows.length <= row) rows.push([])
    } else if (ch >= ' ' || ch === '\t') {
      put(ch)
    }
  }
  return rows.map((r) => r.join('').trimEnd())
}

/**
 * Durations (`250ms`, `3s`, `1m`) and sizes (`4096`, `512KiB`, `2MiB`) as
 * users type them in flags. Pure; errors are thrown as plain `Error`s with a
 * one-line message that the flag layer shows as is.
 */

const DURATION_UNITS_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}
const SIZE_UNITS_BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1_000_000,
  mb: 1_000_000,
  mib: 1024 * 1024,
  g: 1_000_000_000,
  gb: 1_000_000_000,
  gib: 1024 * 1024 * 1024,
}

/** Parses a duration such as `250ms`, `3s`, `1.5s`, `1m` or `0` into milliseconds. */
export function parseDuration(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(input)
  if (!m) throw new Error(`invalid duration "${input}": use a number with a unit, e.g. 250ms, 3s, 1m`)
  const value = Number(m[1])
  if (m[2] === undefined && value !== 0) {
    throw new Error(`invalid duration "${input}": add a unit, e.g. ${input}ms or ${input}s`)
  }
  return Math.round(value * DURATION_UNITS_MS[(m[2] ?? 'ms').toLowerCase()])
}

/** Parses a duration range `MIN..MAX` (or a single duration) into milliseconds. */
export function parseDurationRange(input: string): {minMs: number; maxMs: number} {
  const parts = input.split('..')
  if (parts.length > 2) throw new Error(`invalid range "${input}": use MIN..MAX, e.g. 0..1000ms`)
  if (parts.length === 1) {
    const ms = parseDuration(input)
    return {minMs: ms, maxMs: ms}
  }
  // "0..1000ms": a bare lower bound takes the unit of the upper one.
  const unit = /[a-z]+\s*$/i.exec(parts[1])?.[0] ?? ''
  const lower = /^\s*\d+(?:\.\d+)?\s*$/.test(parts[0]) ? parts[0] + unit : parts[0]
  const minMs = parseDuration(lower)
  const maxMs = parseDuration(parts[1])
  if (maxMs < minMs) throw new Error(`invalid range "${input}": MIN is larger than MAX`)
  return {minMs, maxMs}
}

/** Parses a size such as `4096`, `512KiB` or `2MiB` into bytes. */
export function parseSize(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input)
  const factor = m ? SIZE_UNITS_BYTES[m[2].toLowerCase()] : undefined
  if (!m || factor === undefined) throw new Error(`invalid size "${input}": use bytes or a unit, e.g. 4096, 512KiB, 2MiB`)
  const bytes = Math.floor(Number(m[1]) * factor)
  if (bytes < 1) throw new Error(`invalid size "${input}": must be at least 1 byte`)
  return bytes
}

/** Formats milliseconds the way users type them (`250ms`, `3s`, `1.5s`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  return `${ms / 1000}s`
}

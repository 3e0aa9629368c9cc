/**
 * One error class for everything a user can cause. Commands turn it into one
 * line on stderr and its exit code; anything else is a bug and may throw.
 */
export type ErrorCode =
  | 'BAD_FLAG'
  | 'PORT_IN_USE'
  | 'LISTEN_FAILED'
  | 'UNREACHABLE'
  | 'REFUSED'
  | 'TIMEOUT'
  | 'GAVE_UP'
  | 'MISMATCH'
  | 'NOT_FOUND'
  | 'BAD_RESPONSE'
  | 'NOT_ACKED'
  | 'NO_PEER'
  | 'STATE_IN_USE'
  | 'STATE_DAMAGED'
  | 'STATE_UNAVAILABLE'

/** Exit codes: 2 for a flag the user mistyped, 1 for everything that went wrong at run time. */
const EXIT_CODES: Partial<Record<ErrorCode, number>> = {BAD_FLAG: 2}

export class PeerlinkError extends Error {
  readonly exitCode: number

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'PeerlinkError'
    this.exitCode = EXIT_CODES[code] ?? 1
  }
}

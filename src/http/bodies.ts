/**
 * The request bodies the node's routes validate, as zod schemas. Loaded on
 * the first request with a body (a dynamic import in clients.ts and console.ts), not when
 * the node starts: zod is about a hundred modules, and a node that nobody
 * POSTs to (most relays, every short-lived node a script starts) never needs it.
 */
import {z} from 'zod'
import {isUuid} from '../protocol/frame.js'

/** `POST /client`. */
export const RegisterBody = z.object({
  ip: z.string().trim().min(1).max(255),
  port: z.number().int().min(0).max(65535),
  name: z.string().trim().min(1).max(255),
  role: z.enum(['node', 'client']).optional(),
  url: z
    .string()
    .max(2048)
    .refine((s) => /^wss?:\/\/[^\s/]+/.test(s) && URL.canParse(s), {message: 'must be a ws:// or wss:// URL'})
    .optional(),
  /** the id the registrant wants (a node's own, which its links propose in their hello) */
  id: z.string().refine(isUuid, {message: 'must be a UUID'}).optional(),
})

/** `PATCH /client`. */
export const IdBody = z.object({id: z.string().min(1).max(255)})

/** `POST /send` (the console); `maxChars` is the console's limit. */
export function sendBody(maxChars: number) {
  return z.object({text: z.string().min(1).max(maxChars)})
}

/** One line naming the field a body got wrong, e.g. `"port": expected number, received string`. */
export function describeIssues(error: z.ZodError, example: string): string {
  const issue = error.issues[0]
  if (issue.path.length === 0) return `body must be a JSON object like ${example}`
  const field = issue.path.join('.')
  const reason = issue.message.replace(/^Invalid (input|option): /, '')
  if (/received undefined$/.test(reason)) return `"${field}" is missing (${reason.replace(/, received undefined$/, '')}); e.g. ${example}`
  return `"${field}": ${reason}`
}

import type {IncomingMessage} from 'node:http'
import type {z} from 'zod'
import {PeerlinkError} from '../protocol/errors.js'
import {REVERSE_COMMANDS} from '../protocol/reverse-commands.js'
import type {ClientTable} from '../registry/table.js'
import {HttpError, readJson, sendError, sendJson} from './respond.js'
import type {Router} from './router.js'

/** What the client routes need of a node: its table, and a way to ask a live client. */
export interface ClientDirectory {
  readonly table: ClientTable
  /** runs a reverse command on the live connection with this id; rejects with a PeerlinkError */
  askClient(id: string, command: string, arg?: string): Promise<Record<string, unknown>>
}

const EXAMPLE = '{"ip":"192.1.1.1","port":1234,"name":"linus"}'

/** The schemas, loaded with zod on the first body (see bodies.ts). */
const bodies = () => import('./bodies.js')

async function parseBody<T>(req: IncomingMessage, schema: (b: Awaited<ReturnType<typeof bodies>>) => z.ZodType<T>, example: string): Promise<T> {
  const [json, b] = await Promise.all([readJson(req), bodies()])
  const parsed = schema(b).safeParse(json)
  if (!parsed.success) throw new HttpError(400, `bad body: ${b.describeIssues(parsed.error, example)}`)
  return parsed.data
}

/** HTTP statuses of the ways a reverse command fails. */
const ASK_STATUS: Partial<Record<PeerlinkError['code'], number>> = {NOT_FOUND: 404, UNREACHABLE: 409, TIMEOUT: 504, BAD_RESPONSE: 502}

/**
 * The name server (`GET /clients`, `POST /client`, `PATCH /client`,
 * `DELETE /clients/:id`) and reverse commands (`GET /clients/:id/system-time`).
 */
export function addClientRoutes(router: Router, dir: ClientDirectory): void {
  router.add('GET', '/clients', (_req, res) => sendJson(res, 200, dir.table.toJson()))

  router.add('POST', '/client', async (req, res) => {
    const {id, ...reg} = await parseBody(req, (b) => b.RegisterBody, EXAMPLE)
    // it creates an entry (or takes over the one with the id asked for): 201 Created (RFC 9110 §15.3.2)
    sendJson(res, 201, {id: dir.table.register(reg, id)})
  })

  router.add('PATCH', '/client', async (req, res) => {
    const {id} = await parseBody(req, (b) => b.IdBody, '{"id":"<uuid>"}')
    if (!dir.table.touch(id)) throw new HttpError(404, `no client with id ${id} (never registered, or pruned: register again with POST /client)`)
    sendJson(res, 200, dir.table.toJson())
  })

  // Not in the seed: how a node that stops leaves the registry at once instead of waiting for the TTL.
  router.add('DELETE', '/clients/:id', (_req, res, {params}) => {
    const entry = dir.table.get(params.id)
    if (!entry) throw new HttpError(404, `no client with id ${params.id}`)
    // a live connection's entry lives as long as the connection; only registrations can be withdrawn
    if (!entry.registered) throw new HttpError(409, `client ${params.id} is a live connection, not a registration; it leaves when it disconnects`)
    dir.table.remove(params.id)
    sendJson(res, 200, {id: params.id})
  })

  router.add('GET', '/clients/:id/:command', async (_req, res, {params}) => {
    const command = Object.hasOwn(REVERSE_COMMANDS, params.command) ? REVERSE_COMMANDS[params.command] : undefined
    if (!command) {
      sendError(res, 404, `no command "${params.command}"; known: ${Object.keys(REVERSE_COMMANDS).join(', ')}`)
      return
    }
    try {
      const body = await dir.askClient(params.id, params.command)
      const fields = command.read(body)
      if (!fields) {
        sendError(res, 502, `the client's answer to ${params.command} has an unexpected shape`, command.empty)
        return
      }
      sendJson(res, 200, {error: false, msg: '', ...fields})
    } catch (err) {
      if (!(err instanceof PeerlinkError)) throw err
      sendError(res, ASK_STATUS[err.code] ?? 500, err.message, command.empty)
    }
  })
}

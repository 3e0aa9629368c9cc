import type {IncomingMessage, ServerResponse} from 'node:http'
import {HttpError, sendError} from './respond.js'

export interface RouteContext {
  params: Record<string, string>
  url: URL
}

export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => void | Promise<void>

interface Route {
  method: string
  segments: string[]
  handler: Handler
}

/**
 * A small method + path router: `/clients/:id/system-time` style patterns,
 * 404 for an unknown path, 405 for a known path with the wrong method, HEAD
 * answered as GET (Node sends no body for HEAD), and every thrown
 * {@link HttpError} answered as JSON.
 */
export class Router {
  private readonly routes: Route[] = []

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({method, segments: pattern.split('/').filter(Boolean), handler})
    return this
  }

  /** Handles a request; never rejects. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://localhost')
    } catch {
      sendError(res, 400, 'bad request URL')
      return
    }
    const parts = url.pathname.split('/').filter(Boolean)
    const method = req.method === 'HEAD' ? 'GET' : req.method
    let pathMatched = false
    for (const route of this.routes) {
      const params = match(route.segments, parts)
      if (!params) continue
      pathMatched = true
      if (route.method !== method) continue
      try {
        await route.handler(req, res, {params, url})
      } catch (err) {
        if (res.headersSent) {
          res.destroy()
        } else if (err instanceof HttpError) {
          for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value)
          sendError(res, err.status, err.message, err.extra)
        } else {
          sendError(res, 500, 'internal error')
        }
      }
      return
    }
    if (pathMatched) {
      const allowed = this.routes.filter((r) => match(r.segments, parts)).flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]))
      res.setHeader('allow', allowed.join(', '))
      sendError(res, 405, `method ${req.method} not allowed on ${url.pathname}; use ${allowed.join(' or ')}`)
    } else {
      sendError(res, 404, `no route ${url.pathname}`)
    }
  }
}

function match(segments: string[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < segments.length; i++) {
    if (segments[i].startsWith(':')) {
      try {
        params[segments[i].slice(1)] = decodeURIComponent(parts[i])
      } catch {
        return undefined
      }
    } else if (segments[i] !== parts[i]) {
      return undefined
    }
  }
  return params
}

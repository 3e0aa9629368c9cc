import http from 'node:http'

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** the body parsed as JSON, or undefined when it is not JSON */
  json: unknown
}

/** One plain HTTP request to a node on 127.0.0.1, no keep-alive; any status resolves. */
export function call(
  port: number,
  method: string,
  path: string,
  opts: {headers?: Record<string, string>; body?: string | Buffer} = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({host: '127.0.0.1', port, method, path, headers: opts.headers, agent: false}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        let json: unknown
        try {
          json = JSON.parse(body.toString())
        } catch {
          json = undefined
        }
        resolve({status: res.statusCode ?? 0, headers: res.headers, body, json})
      })
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

export function bearer(token: string): Record<string, string> {
  return {authorization: `Bearer ${token}`}
}

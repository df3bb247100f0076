/**
 * A stand-in for switchyard's health endpoints, for the deployment files' health-check commands:
 * `/healthz` answers 200, anything else 503. On 127.0.0.1, a free port.
 */
import { createServer } from 'node:http'

export interface HealthzStub {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string
  close(): Promise<void>
}

export async function startHealthzStub(): Promise<HealthzStub> {
  const server = createServer((request, response) => {
    response.statusCode = request.url === '/healthz' ? 200 : 503
    response.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

import { connect, createServer } from 'node:net'

/**
 * A port that was free a moment ago on 127.0.0.1. For child processes (anvil, bcoin) that
 * cannot report the port they picked; servers of our own listen on port 0 instead.
 */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

/**
 * Candidates for `refusedPort`: privileged ports no service here uses. The kernel never hands
 * them out for port 0, so unlike a `freePort()` nobody listens there by the time a test connects
 * (an ephemeral port released a moment ago can be taken by any process on a busy machine).
 */
const NEVER_LISTENED = [1013, 1017, 1019, 1021, 1023] as const

/** A port on 127.0.0.1 whose connections are refused (ECONNREFUSED), checked by connecting. */
export async function refusedPort(): Promise<number> {
  for (const port of NEVER_LISTENED) {
    const code = await new Promise<string | undefined>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.once('connect', () => {
        socket.destroy()
        resolve(undefined)
      })
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code))
    })
    if (code === 'ECONNREFUSED') return port
  }
  throw new Error(`something listens on every one of ports ${NEVER_LISTENED.join(', ')} on 127.0.0.1`)
}

import type { ProxyEventMap } from '../../src/proxy-events.js'
import type { Proxy } from '../../src/proxy.js'

/**
 * Resolves on the first event matching `match`, and reports how many probe rounds of `chain`
 * completed in between: "ejected within 2 probe intervals" is asserted on rounds, not wall time.
 */
export function nextEvent<K extends keyof ProxyEventMap>(
  proxy: Proxy,
  name: K,
  match: (...args: ProxyEventMap[K]) => boolean,
  options: { chain?: string; timeoutMs?: number } = {},
): Promise<{ event: ProxyEventMap[K][0]; rounds: number; elapsedMs: number }> {
  const started = performance.now()
  let rounds = 0
  return new Promise((resolve, reject) => {
    const onRound = (event: ProxyEventMap['probe:complete'][0]): void => {
      if (options.chain === undefined || event.chain === options.chain) rounds += 1
    }
    const listener = (...args: ProxyEventMap[K]): void => {
      if (!match(...args)) return
      cleanup()
      resolve({ event: args[0], rounds, elapsedMs: performance.now() - started })
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no ${String(name)} event within ${options.timeoutMs ?? 20_000} ms`))
    }, options.timeoutMs ?? 20_000)
    const cleanup = (): void => {
      clearTimeout(timer)
      proxy.events.off('probe:complete', onRound)
      proxy.events.off(name, listener as never)
    }
    proxy.events.on('probe:complete', onRound)
    proxy.events.on(name, listener as never)
  })
}

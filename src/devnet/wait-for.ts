/**
 * Waits until `check` returns a value other than undefined/false, polling every `everyMs`.
 * For conditions on real external processes (a node became ready, a block arrived) that offer no
 * event to wait on; inside the proxy, tests wait on events or drive `tick()` instead.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; everyMs?: number; what?: string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const everyMs = options.everyMs ?? 25
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) {
      const suffix = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}${suffix}`)
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

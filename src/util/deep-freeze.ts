/**
 * Freezes a validated config and everything inside it, so no part of the running process can
 * change what another part reads (a reload replaces the config as a whole instead).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  for (const item of Object.values(value)) deepFreeze(item)
  return Object.freeze(value)
}

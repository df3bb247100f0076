export { createEvmAdapter } from './evm-adapter.js'
export { classifyEvmMethod, isEvmNodeBehindAnswer, quantity, requiredEvmHeight } from './evm-methods.js'
export { nextReconnectDelayMs, watchNewHeads } from './heads-subscription.js'

export { evmFamily } from './evm-family.js'
export {
  evmBroadcastOptions,
  evmChainConfig,
  evmChainOptions,
  evmConfig,
  evmDefaults,
  evmNodeConfig,
  evmNodeOptions,
  type EvmBroadcastOptions,
  type EvmChainConfig,
  type EvmChainOptions,
  type EvmNodeConfig,
  type EvmNodeOptions,
} from './evm-config.js'
export { createEvmAdapter } from './evm-adapter.js'
export { classifyEvmMethod, quantity, requiredEvmHeight } from './evm-methods.js'
export { classifyEvmError, evmCallCost } from './evm-node-errors.js'
export {
  RECONNECT_BASE_MS,
  RECONNECT_CAP_MS,
  STABLE_CONNECTION_MS,
  nextReconnectDelayMs,
  watchNewHeads,
  type NewHeadsOptions,
} from './heads-subscription.js'
export { classifyEvmReply, createEvmBroadcast, decodeEvmTransaction, lookupEvmTransaction } from './evm-broadcast.js'
// The provider loads all of ethers (evm-broadcast needs only ethers/transaction), so the root entry does not import this index. viem has its own entry: see ./viem-transport.ts.
export { SwitchyardEthersProvider, ethersProvider, type EthersProviderOptions } from './ethers-provider.js'

export { bitcoinFamily } from './bitcoin-family.js'
export {
  bitcoinChainConfig,
  bitcoinChainOptions,
  bitcoinConfig,
  bitcoinDefaults,
  bitcoinNodeConfig,
  bitcoinNodeOptions,
  checkBitcoinChain,
  type BitcoinChainConfig,
  type BitcoinChainOptions,
  type BitcoinNodeConfig,
  type BitcoinNodeOptions,
} from './bitcoin-config.js'
export { cookieCredentials } from './bitcoin-cookie.js'
export { bitcoinLegacyHttpStatus } from './bitcoin-legacy-status.js'
export { createBitcoinAdapter, readBlockchainInfo, type BlockchainInfoReading } from './bitcoin-adapter.js'
export { classifyBitcoinMethod, requiredBitcoinHeight } from './bitcoin-methods.js'
export { bitcoinCallCost, classifyBitcoinError } from './bitcoin-node-errors.js'
export { genesisHashes, networkOfGenesis, resolveGenesisHash } from './bitcoin-networks.js'
export { classifyBitcoinReply, createBitcoinBroadcast, decodeBitcoinTransaction, lookupBitcoinTransaction, normalizeReason } from './bitcoin-broadcast.js'
export {
  BitcoinRpc,
  BitcoinRpcError,
  bitcoinRpc,
  bitcoinRpcErrorCodes,
  type BitcoinCallOptions,
  type BitcoinRpcOptions,
  type Block,
  type BlockHeader,
  type BlockWithTransactions,
  type BlockchainInfo,
  type FeeEstimateMode,
  type MempoolEntry,
  type MempoolInfo,
  type ScriptPubKey,
  type SmartFeeEstimate,
  type Transaction,
  type TransactionInput,
  type TransactionOutput,
  type TxOut,
} from './bitcoin-rpc.js'

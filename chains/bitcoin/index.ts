export { createBitcoinAdapter, readBlockchainInfo, type BlockchainInfoReading } from './bitcoin-adapter.js'
export { classifyBitcoinMethod, isBitcoinNodeBehindAnswer, requiredBitcoinHeight } from './bitcoin-methods.js'
export { genesisHashes, networkOfGenesis, resolveGenesisHash } from './bitcoin-networks.js'
export { classifyBitcoinReply, createBitcoinBroadcast, decodeBitcoinTransaction, lookupBitcoinTransaction, normalizeReason } from './bitcoin-broadcast.js'

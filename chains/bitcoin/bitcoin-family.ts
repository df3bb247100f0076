/** The bitcoin family as the core takes it: its config slice and its adapter factory. */
import type { ChainFamily } from '../../src/chain-adapter.js'
import { createBitcoinAdapter } from './bitcoin-adapter.js'
import { bitcoinConfig } from './bitcoin-config.js'

export const bitcoinFamily: ChainFamily = { ...bitcoinConfig, createAdapter: createBitcoinAdapter }

/** The evm family as the core takes it: its config slice and its adapter factory. */
import type { ChainFamily } from '../../src/chain-adapter.js'
import { createEvmAdapter } from './evm-adapter.js'
import { evmConfig } from './evm-config.js'

export const evmFamily: ChainFamily = { ...evmConfig, createAdapter: createEvmAdapter }

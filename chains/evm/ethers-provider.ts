/**
 * An ethers v6 provider that calls an in-process proxy (no HTTP hop): every request goes through
 * `proxy.call`, exactly as a request to `POST /rpc/<chain>` does, so reads get switchyard's routing
 * (health, failover, verified reads, cache) and `eth_sendRawTransaction` its broadcast engine
 * (fan-out, journal, rebroadcast). ethers lives only under `chains/`, so the core cannot offer
 * `proxy.ethersProvider(chain)`; this is the same thing as a function of the proxy.
 *
 * Errors keep their JSON-RPC shape, so ethers maps a node's error as it would over HTTP (nonce too
 * low → NONCE_EXPIRED, insufficient funds → INSUFFICIENT_FUNDS, revert data → CALL_EXCEPTION with
 * the decoded reason). switchyard's own errors are mapped as ethers maps them over HTTP too: those
 * that come with an HTTP status other than 200 (no routable node, all nodes failed, deadline…)
 * become SERVER_ERROR, the others go through ethers' own mapping; either way the `ProxyError` is
 * at `error.info.proxyError` (its `code`, e.g. SY_TX_CONFLICT, in `error.info.error.data.code`).
 */
import { JsonRpcApiProvider, type JsonRpcApiProviderOptions, type JsonRpcError, type JsonRpcPayload, type JsonRpcResult, Network, makeError } from 'ethers'
import { ProxyError } from '../../src/errors/proxy-error.js'
import type { CallResult, Proxy } from '../../src/proxy.js'

export interface EthersProviderOptions extends JsonRpcApiProviderOptions {
  /**
   * Name recorded on this provider's broadcasts (a `clients[].name`; each client's open broadcasts
   * count against `journal.maxOpenPerClient`). Default: none, the anonymous client.
   */
  client?: string
}

/** The switchyard error behind a JSON-RPC error object handed to ethers (so `getRpcError` can tell them from nodes' errors). */
const proxyErrors = new WeakMap<object, ProxyError>()

export class SwitchyardEthersProvider extends JsonRpcApiProvider {
  readonly #proxy: Proxy
  readonly #chain: string
  readonly #client: string | undefined

  /**
   * Options as ethers' `JsonRpcApiProviderOptions`, with other defaults: `staticNetwork` is the
   * chain's configured `chainId` (read once, here: ethers never asks eth_chainId), and
   * `batchMaxCount` is 1, since a batch saves nothing without a network hop and would only hold
   * each call for ethers' batch stall (10 ms).
   * @throws ProxyError SY_UNKNOWN_CHAIN for a chain the proxy does not have; Error for a chain without a chain id (not EVM).
   */
  constructor(proxy: Proxy, chain: string, options: EthersProviderOptions = {}) {
    const { client, ...ethersOptions } = options
    const network = Network.from(configuredChainId(proxy, chain))
    super(network, { batchMaxCount: 1, staticNetwork: network, ...ethersOptions })
    this.#proxy = proxy
    this.#chain = chain
    this.#client = client
  }

  /** The proxy is there from the start: no connection to wait for before the first request. */
  override async send(method: string, params: Array<unknown> | Record<string, unknown>): Promise<any> {
    this._start()
    return await super.send(method, params)
  }

  /** Each payload of a batch is its own call, run concurrently, as the HTTP route runs a batch. */
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<Array<JsonRpcResult | JsonRpcError>> {
    const payloads = Array.isArray(payload) ? payload : [payload]
    return await Promise.all(payloads.map((one) => this.#answer(one)))
  }

  override getRpcError(payload: JsonRpcPayload, response: JsonRpcError): Error {
    const proxyError = proxyErrors.get(response.error)
    if (proxyError === undefined) return super.getRpcError(payload, response)
    // Over HTTP these come with a non-200 status, which ethers reports as SERVER_ERROR.
    if (proxyError.httpStatus !== 200) {
      return makeError(proxyError.message, 'SERVER_ERROR', { request: `switchyard:${this.#chain}`, info: { payload, error: response.error, proxyError } })
    }
    const error = super.getRpcError(payload, response) as Error & { info?: Record<string, unknown> }
    error.info = { ...error.info, proxyError }
    return error
  }

  async #answer(payload: JsonRpcPayload): Promise<JsonRpcResult | JsonRpcError> {
    const result = await this.#proxy.call(this.#chain, { method: payload.method, params: payload.params }, { client: this.#client })
    const { answer } = result
    if (answer.error === undefined) return { id: payload.id, result: ownCopy(result, answer.result) }
    const error = { ...answer.error }
    if (result.proxyError !== undefined) proxyErrors.set(error, result.proxyError)
    return { id: payload.id, error }
  }
}

/**
 * An ethers v6 provider for one chain of `proxy` (started or not; calls before `proxy.start()`
 * find no routable node). The proxy is not owned: `provider.destroy()` leaves it running.
 */
export function ethersProvider(proxy: Proxy, chain: string, options: EthersProviderOptions = {}): SwitchyardEthersProvider {
  return new SwitchyardEthersProvider(proxy, chain, options)
}

function configuredChainId(proxy: Proxy, chain: string): number {
  const config = proxy.config.chains[chain]
  if (config === undefined) throw new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${chain.slice(0, 64)}"`)
  const chainId = (config as { chainId?: unknown }).chainId
  if (typeof chainId !== 'number') throw new Error(`chain ${chain} (family ${config.family}) has no chainId: an ethers provider needs an EVM chain`)
  return chainId
}

/**
 * Cached and coalesced answers are frozen and shared with other callers; ethers may patch a result
 * in place (a `to` of 0x0 in a transaction), so it gets its own copy of those.
 */
function ownCopy(result: CallResult, value: unknown): unknown {
  if ((result.cached !== true && result.coalesced !== true) || typeof value !== 'object' || value === null) return value
  return structuredClone(value)
}

/**
 * A viem transport that calls an in-process proxy (no HTTP hop): every request goes through
 * `proxy.call`, as a request to `POST /rpc/<chain>` does (routing, failover, and the broadcast
 * engine for `eth_sendRawTransaction`). viem is an optional peer dependency: this module is its own
 * entry (`switchyard/chains/evm/viem`) so that nothing else loads it.
 *
 * A JSON-RPC error is thrown as viem's own `RpcRequestError` (`code`, `message` as `details`,
 * `data`), the error viem's http transport throws, so viem maps it the same way: to its typed RPC
 * errors by code, to `ContractFunctionRevertedError` with the decoded reason from revert data, to
 * `NonceTooLowError` / `InsufficientFundsError` from a node's message. switchyard's own errors
 * carry their catalog code in `data.code` (SY_NO_ROUTABLE_NODE…) and their HTTP status in `status`
 * when it is not 200.
 */
import { type EIP1193RequestFn, RpcRequestError, type Transport, createTransport } from 'viem'
import { ProxyError } from '../../src/errors/proxy-error.js'
import type { RpcCall } from '../../src/jsonrpc/types.js'
import type { CallResult, Proxy } from '../../src/proxy.js'

export interface ViemTransportOptions {
  /**
   * Name recorded on this transport's broadcasts (a `clients[].name`; each client's open
   * broadcasts count against `journal.maxOpenPerClient`). Default: none, the anonymous client.
   */
  client?: string
  /**
   * viem's retries of a failed request. Default 0: switchyard already retries on other nodes within
   * `routing.deadlineMs`, so a retry here would run the whole routing again.
   */
  retryCount?: number
  /** viem's base delay between its retries, ms. Default viem's (150 ms). */
  retryDelay?: number
}

/** What `viemTransport` returns: the transport value names the proxy and chain it calls. */
export type SwitchyardTransport = Transport<'switchyard', { proxy: Proxy; chain: string }>

/**
 * A viem `Transport` for one chain of `proxy`: `createPublicClient({ chain, transport: viemTransport(proxy, 'eth') })`.
 * The proxy is not owned by the client.
 * @throws ProxyError SY_UNKNOWN_CHAIN for a chain the proxy does not have.
 */
export function viemTransport(proxy: Proxy, chain: string, options: ViemTransportOptions = {}): SwitchyardTransport {
  if (!proxy.hasChain(chain)) throw new ProxyError('SY_UNKNOWN_CHAIN', `unknown chain "${chain.slice(0, 64)}"`)
  // Shown by viem as the request's "URL:" in error messages: names the chain, never a node.
  const url = `switchyard:${chain}`
  const request = async ({ method, params }: { method: string; params?: unknown }, requestOptions?: { signal?: AbortSignal }): Promise<unknown> => {
    const result = await proxy.call(chain, { method, params: params as RpcCall['params'] }, { signal: requestOptions?.signal, client: options.client })
    const { answer } = result
    if (answer.error === undefined) return ownCopy(result, answer.result)
    const status = result.proxyError !== undefined && result.proxyError.httpStatus !== 200 ? result.proxyError.httpStatus : undefined
    throw new RpcRequestError({ body: { method, params }, error: { ...answer.error }, url, ...(status === undefined ? {} : { status }) })
  }
  return () =>
    createTransport(
      { key: 'switchyard', name: 'switchyard', type: 'switchyard', request: request as EIP1193RequestFn, retryCount: options.retryCount ?? 0, retryDelay: options.retryDelay },
      { proxy, chain },
    )
}

/** Cached and coalesced answers are frozen and shared with other callers: the client gets its own copy. */
function ownCopy(result: CallResult, value: unknown): unknown {
  if ((result.cached !== true && result.coalesced !== true) || typeof value !== 'object' || value === null) return value
  return structuredClone(value)
}

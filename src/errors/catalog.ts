/**
 * Every error the proxy itself makes, in one table: stable string code (in `error.data.code`),
 * JSON-RPC code, HTTP status for a single request, and meaning. README lists the same table.
 * Node answers (a node's own JSON-RPC error) are passed through untouched and are not here.
 * Proxy-specific JSON-RPC codes sit in -32050..-32069, clear of -32000..-32006 (EIP-1474).
 */
export const errorCatalog = {
  SY_PARSE_ERROR: { rpcCode: -32700, httpStatus: 400, meaning: 'The request body is not valid JSON.' },
  SY_INVALID_REQUEST: { rpcCode: -32600, httpStatus: 400, meaning: 'Not a JSON-RPC request object (or an empty batch).' },
  SY_BODY_TOO_LARGE: { rpcCode: -32600, httpStatus: 413, meaning: 'The request body is larger than server.bodyLimitBytes.' },
  SY_BATCH_TOO_LARGE: { rpcCode: -32600, httpStatus: 413, meaning: 'The batch has more calls than server.maxBatchSize.' },
  SY_METHOD_NOT_ALLOWED: { rpcCode: -32601, httpStatus: 200, meaning: 'The method is not on the chain family allowlist; it never reaches a node.' },
  SY_INVALID_PARAMS: { rpcCode: -32602, httpStatus: 200, meaning: 'Parameters the proxy checks itself are invalid.' },
  SY_TX_WRONG_CHAIN: { rpcCode: -32602, httpStatus: 200, meaning: 'The transaction is signed for another chain (or without EIP-155 replay protection); no node saw it.' },
  SY_TX_CONFLICT: { rpcCode: -32060, httpStatus: 200, meaning: 'Another transaction spends the same input / uses the same nonce: possible double-spend or double-signing.' },
  SY_TX_NOT_ACCEPTED: { rpcCode: -32061, httpStatus: 200, meaning: 'No node accepted the transaction and none gave a verdict to pass on (e.g. it silently dropped it).' },
  SY_TX_ID_MISMATCH: { rpcCode: -32062, httpStatus: 502, meaning: 'A node returned a transaction id that differs from the locally computed one; not counted as success.' },
  SY_NO_ROUTABLE_NODE: { rpcCode: -32050, httpStatus: 503, meaning: 'No node of the chain is healthy and in sync; the proxy fails closed rather than ask a lagging node.' },
  SY_ALL_NODES_FAILED: { rpcCode: -32051, httpStatus: 502, meaning: 'Every attempted node failed (timeout, connection, HTTP 5xx/429, malformed reply).' },
  SY_DEADLINE_EXCEEDED: { rpcCode: -32052, httpStatus: 504, meaning: 'The call did not complete within routing.deadlineMs across its attempts.' },
  SY_UNKNOWN_CHAIN: { rpcCode: -32053, httpStatus: 404, meaning: 'No chain of that name is configured.' },
  SY_SHUTTING_DOWN: { rpcCode: -32054, httpStatus: 503, meaning: 'The proxy is closing and takes no new calls.' },
  SY_REQUEST_TOO_LARGE: { rpcCode: -32600, httpStatus: 413, meaning: 'One call is larger than server.maxCallBytes or its params nest deeper than server.maxParamsDepth; no node saw it.' },
  SY_REQUEST_REJECTED: { rpcCode: -32055, httpStatus: 400, meaning: "Two nodes refused this call the same way (malformed, invalid or too large for them): the request's fault; no node's health changed." },
  SY_CALL_TOO_HEAVY: { rpcCode: -32056, httpStatus: 504, meaning: 'A call whose cost the client chose (eth_getLogs range, eth_call, traces, big batches) timed out on two nodes; narrow it. No node\'s health changed.' },
  SY_OVERLOADED: { rpcCode: -32057, httpStatus: 503, meaning: "switchyard's own bounds are full (concurrent calls per node, reply bytes held in memory); retry shortly. No node's health changed." },
  SY_REPLY_TOO_LARGE: { rpcCode: -32058, httpStatus: 502, meaning: 'The node\'s reply is larger than routing.maxReplyBytes; narrow the request. No node\'s health changed.' },
  SY_NODES_DISAGREE: { rpcCode: -32063, httpStatus: 502, meaning: 'Verified read (or a height where nodes are forked): the nodes asked gave different answers; data.answers has each node\'s answer hash. Never one of the answers.' },
  SY_TX_NOT_JOURNALED: { rpcCode: -32064, httpStatus: 200, meaning: 'The transaction was sent (data.txid, data.heldBy) but the journal write failed: do not re-sign; re-send the same bytes or look it up. /readyz turns 503 until the journal works.' },
  SY_TOO_MANY_OPEN: { rpcCode: -32069, httpStatus: 429, meaning: 'The client already has journal.maxOpenPerClient broadcasts on this chain not yet confirmed (data.open, data.limit; without client keys all clients share one bound); no node saw this transaction. Retry once some confirm.' },
  SY_UNAUTHORIZED: { rpcCode: -32065, httpStatus: 401, meaning: 'clients are configured and the request carries no known key (Bearer, x-api-key or the basic-auth password).' },
  SY_FORBIDDEN: { rpcCode: -32066, httpStatus: 403, meaning: "The client's grant does not cover this chain, or this call's method group (read, broadcast, subscriptions); in a batch only that call." },
  SY_RATE_LIMITED: { rpcCode: -32067, httpStatus: 429, meaning: "The client is over its rate limit (clients[].rateLimit): nothing of the request was done; retry after Retry-After (data.retryAfterMs)." },
  SY_NODE_QUOTA: { rpcCode: -32068, httpStatus: 503, meaning: "Every node that could serve the call is at its request quota (nodes[].quota); retry shortly (data.retryAfterMs). No node's health changed." },
  SY_RANGE_TOO_LARGE: { rpcCode: -32602, httpStatus: 200, meaning: 'An eth_getLogs block range wider than chains.<name>.maxLogsRange (data.limit, data.blocks); no node was asked. Narrow the range.' },
  SY_REQUEST_TIMEOUT: { rpcCode: -32600, httpStatus: 408, meaning: 'The request was not received in time: headers within server.headersTimeoutMs, all of it within server.requestTimeoutMs. The connection is closed; nothing was forwarded.' },
  SY_HEADERS_TOO_LARGE: { rpcCode: -32600, httpStatus: 431, meaning: "The request's HTTP headers are larger than the server accepts (16 KiB). The connection is closed; nothing was forwarded." },
  SY_TOO_MANY_SUBSCRIPTIONS: { rpcCode: -32075, httpStatus: 429, meaning: 'The WebSocket connection already holds server.ws.maxSubscriptionsPerConnection subscriptions (data.limit); unsubscribe one, or open another connection.' },
  SY_FILTER_NOT_FOUND: { rpcCode: -32000, httpStatus: 200, meaning: "No such filter for this client: never made, uninstalled, expired (filters.idleTimeoutMs without a poll), dropped over filters.maxPendingChanges unpolled changes, or another client's. Geth's code and message, so clients re-create the filter." },
  SY_TOO_MANY_FILTERS: { rpcCode: -32059, httpStatus: 429, meaning: 'The client already holds filters.maxPerClient filters on this chain, or the chain filters.maxPerChain (data.limit, data.scope); uninstall some (eth_uninstallFilter) or let unpolled ones expire.' },
  SY_SUBSCRIPTION_NEEDS_WS: { rpcCode: -32601, httpStatus: 200, meaning: 'eth_subscribe / eth_unsubscribe over HTTP: subscriptions push messages and need the WebSocket endpoint ws://<host>/rpc/<chain> (or poll with eth_newFilter).' },
  SY_PENDING_NOT_OFFERED: { rpcCode: -32601, httpStatus: 200, meaning: 'eth_newPendingTransactionFilter / newPendingTransactions: no routable node of the chain offers pending transactions (the nodes answer the method as not found or not supported); nothing was installed.' },
  SY_WALLET_NOT_SERVED: { rpcCode: -18, httpStatus: 200, meaning: "A call to a wallet path (/wallet/<name>, bitcoin-cli -rpcwallet): switchyard serves no wallet RPC. Bitcoin Core's -18 (wallet not found); HTTP 500 for JSON-RPC 1.0 clients as Core gives, 200 for 2.0. Nothing was forwarded." },
  SY_METHOD_NOT_POST: { rpcCode: -32600, httpStatus: 405, meaning: 'A GET (or other method) on a JSON-RPC path, answered with Allow: POST (Core: "JSON-RPC server handles only POST requests"); a WebSocket upgrade there is told where WebSocket is served.' },
  SY_INTERNAL: { rpcCode: -32603, httpStatus: 500, meaning: 'A bug in the proxy; the call was not forwarded or its outcome is unknown.' },
} as const satisfies Record<string, { rpcCode: number; httpStatus: number; meaning: string }>

export type ProxyErrorCode = keyof typeof errorCatalog

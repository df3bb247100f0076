/**
 * EVM log filter criteria (eth_newFilter, eth_subscribe 'logs'): checked once when a client
 * gives them, then matched against each log switchyard delivers, as geth matches them: any of the
 * addresses (case-insensitive), and per topic position null (anything), one topic, or any of a
 * list; a log with fewer topics than the criteria name does not match.
 */
import type { LogsQuery } from './chain-streams.js'

const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const TOPIC = /^0x[0-9a-fA-F]{64}$/
const BLOCK_TAGS = new Set(['latest', 'earliest', 'pending', 'safe', 'finalized'])
/** Topic positions a log can have (LOG0..LOG4). */
const MAX_TOPICS = 4
/** Addresses or alternatives per topic one filter may list: bounds the per-log matching cost. */
const MAX_ALTERNATIVES = 1_000

/** Filter criteria as given (`fromBlock`/`toBlock` kept as spelled, for eth_getLogs). */
export interface FilterCriteria {
  query: LogsQuery
  fromBlock?: string | undefined
  toBlock?: string | undefined
  blockHash?: string | undefined
}

/** The criteria of `value`, or the reason they are invalid (the client's error message). */
export function parseFilterCriteria(value: unknown): FilterCriteria | string {
  if (value === undefined || value === null) return { query: {} }
  if (typeof value !== 'object' || Array.isArray(value)) return 'filter criteria must be an object'
  const { fromBlock, toBlock, address, topics, blockHash } = value as Record<string, unknown>
  for (const [name, block] of [['fromBlock', fromBlock], ['toBlock', toBlock]] as const) {
    if (block !== undefined && block !== null && !(typeof block === 'string' && (BLOCK_TAGS.has(block) || /^0x[0-9a-fA-F]{1,16}$/.test(block)))) {
      return `${name} must be a hex block number or a block tag`
    }
  }
  if (blockHash !== undefined && blockHash !== null) {
    if (typeof blockHash !== 'string' || !TOPIC.test(blockHash)) return 'blockHash must be a 32-byte hex hash'
    if ((fromBlock ?? null) !== null || (toBlock ?? null) !== null) return 'blockHash cannot be combined with fromBlock/toBlock'
  }
  let addresses: string | string[] | undefined
  if (address !== undefined && address !== null) {
    const list = Array.isArray(address) ? address : [address]
    if (list.length > MAX_ALTERNATIVES) return `at most ${MAX_ALTERNATIVES} addresses`
    if (!list.every((item) => typeof item === 'string' && ADDRESS.test(item))) return 'address must be a 20-byte hex address or a list of them'
    addresses = Array.isArray(address) ? (list as string[]) : (address as string)
  }
  let topicList: Array<string | string[] | null> | undefined
  if (topics !== undefined && topics !== null) {
    if (!Array.isArray(topics) || topics.length > MAX_TOPICS) return `topics must be a list of at most ${MAX_TOPICS} positions`
    topicList = []
    for (const position of topics) {
      if (position === null) topicList.push(null)
      else if (typeof position === 'string' && TOPIC.test(position)) topicList.push(position)
      else if (Array.isArray(position) && position.length <= MAX_ALTERNATIVES && position.every((item) => item === null || (typeof item === 'string' && TOPIC.test(item)))) {
        // [null] inside a position means "anything" there, as geth reads it.
        topicList.push(position.includes(null) ? null : (position as string[]))
      } else return 'each topic must be null, a 32-byte hex topic or a list of them'
    }
  }
  return {
    query: { address: addresses, topics: topicList },
    fromBlock: typeof fromBlock === 'string' ? fromBlock : undefined,
    toBlock: typeof toBlock === 'string' ? toBlock : undefined,
    blockHash: typeof blockHash === 'string' ? blockHash : undefined,
  }
}

/** Whether `log` (as a node returns it) matches the query's addresses and topics. */
export function matchesLogsQuery(query: LogsQuery, log: Record<string, unknown>): boolean {
  const { address, topics } = query
  if (address !== undefined) {
    const logAddress = typeof log.address === 'string' ? log.address.toLowerCase() : undefined
    const wanted = Array.isArray(address) ? address : [address]
    // An empty list is no constraint (geth).
    if (wanted.length > 0 && (logAddress === undefined || !wanted.some((item) => item.toLowerCase() === logAddress))) return false
  }
  if (topics !== undefined && topics.length > 0) {
    const logTopics = Array.isArray(log.topics) ? log.topics : []
    if (topics.length > logTopics.length) return false
    for (let index = 0; index < topics.length; index++) {
      const wanted = topics[index]
      if (wanted === null || wanted === undefined) continue
      const actual = typeof logTopics[index] === 'string' ? (logTopics[index] as string).toLowerCase() : undefined
      const alternatives = Array.isArray(wanted) ? wanted : [wanted]
      if (alternatives.length === 0) continue
      if (actual === undefined || !alternatives.some((item) => item.toLowerCase() === actual)) return false
    }
  }
  return true
}

/**
 * Whether a log at `height` is inside a filter's numeric range; tags put no bound on new logs
 * (`latest`, `pending`… move with the chain; `earliest` is 0).
 */
export function inBlockRange(height: number, fromBlock: string | undefined, toBlock: string | undefined): boolean {
  const from = fromBlock === 'earliest' ? 0 : blockNumber(fromBlock)
  const to = toBlock === 'earliest' ? 0 : blockNumber(toBlock)
  return (from === undefined || height >= from) && (to === undefined || height <= to)
}

function blockNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^0x[0-9a-fA-F]{1,16}$/.test(value)) return undefined
  const parsed = Number.parseInt(value.slice(2), 16)
  return Number.isSafeInteger(parsed) ? parsed : undefined
}

// switchyard dashboard: a plain browser module, no build step.
// Reads the /admin API with the operator's bearer token and stays live through the
// /admin/api/events stream (read with fetch(), since EventSource cannot send headers).

const TOKEN_KEY = 'switchyard.adminToken'
const WINDOW_MS = 15 * 60_000
const TIMELINE_MAX = 300
const STREAM_IDLE_MS = 25_000 // the server sends a snapshot every second
const BACKOFF_MIN_MS = 1_000
const BACKOFF_MAX_MS = 15_000
const BROADCAST_REFRESH_MS = 15_000
const NODE_COLORS = ['#2563eb', '#dc2626', '#059669', '#9333ea', '#d97706', '#0891b2', '#db2777', '#4d7c0f', '#475569', '#7c2d12']

class AuthError extends Error {}
/** HTTP 403: the server's reason is the message (host not allowed, not loopback, actions disabled…). */
class ForbiddenError extends Error {}
class HttpError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`)
    this.status = status
  }
}

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`)

const ui = {
  auth: $('auth'),
  authForm: $('auth-form'),
  authError: $('auth-error'),
  tokenInput: $('token-input'),
  main: $('dashboard'),
  chains: $('chains'),
  banner: $('connection-banner'),
  bannerDetail: document.querySelector('[data-testid="connection-banner"] .banner-detail'),
  conn: $('connection-state'),
  connText: document.querySelector('[data-testid="connection-state"] .conn-text'),
  signOut: $('sign-out'),
  readOnly: $('read-only'),
  fatal: $('fatal-error'),
  timeline: $('timeline'),
  timelineEmpty: $('timeline-empty'),
  broadcastsBody: document.querySelector('[data-testid="broadcasts-table"] tbody'),
  broadcastsEmpty: $('broadcasts-empty'),
  searchForm: $('broadcast-search-form'),
  searchInput: $('broadcast-search'),
  searchResult: $('broadcast-search-result'),
  toast: $('toast'),
}

const state = {
  /** null: none yet; '': the server has no token and answers us (loopback). */
  token: null,
  /** Bumped on sign-out / auth failure: loops of an older session stop. */
  session: 0,
  connected: false,
  /** server clock − client clock, ms (from the Date header), so "time in state" ignores local skew. */
  clockOffset: 0,
  stopSession: new AbortController(),
  chains: new Map(),
  chainOrder: [],
  timeline: [],
  timelineKeys: new Set(),
  broadcastTimer: undefined,
  broadcastRefresh: undefined,
}

// ---------------------------------------------------------------- API

async function api(path, init = {}) {
  const headers = new Headers(init.headers)
  if (state.token) headers.set('authorization', `Bearer ${state.token}`)
  const response = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'same-origin' })
  const date = response.headers.get('date')
  if (date) {
    const serverNow = Date.parse(date)
    // The Date header has 1 s resolution: only correct skews larger than that.
    if (Number.isFinite(serverNow)) {
      const offset = serverNow - Date.now()
      state.clockOffset = Math.abs(offset) > 2_000 ? offset : 0
    }
  }
  if (response.status === 401) throw new AuthError('unauthorized')
  if (response.status === 403) throw new ForbiddenError(await errorText(response))
  return response
}

async function getJson(path) {
  const response = await api(path)
  if (!response.ok) throw new HttpError(response.status, await errorText(response))
  return response.json()
}

/** Admin actions are JSON, body or not: the server refuses any other content type (no cross-origin form or no-cors post can send it). */
async function postJson(path, body = {}) {
  let response
  try {
    response = await api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  } catch (error) {
    // A refused action (e.g. no admin.token configured) is reported; the page stays usable.
    if (error instanceof ForbiddenError) throw new HttpError(403, error.message)
    throw error
  }
  if (!response.ok) throw new HttpError(response.status, await errorText(response))
  return response.json()
}

async function errorText(response) {
  try {
    const body = await response.json()
    if (body && typeof body.error === 'string') return `${body.error} (HTTP ${response.status})`
    if (body && body.error && typeof body.error.message === 'string') return `${body.error.message} (HTTP ${response.status})`
  } catch {
    // not JSON
  }
  return `HTTP ${response.status}`
}

const serverNow = () => Date.now() + state.clockOffset

// ---------------------------------------------------------------- auth and session

function showAuth(message) {
  ui.main.hidden = true
  ui.banner.hidden = true
  ui.signOut.hidden = true
  ui.auth.hidden = false
  ui.authError.hidden = !message
  ui.authError.textContent = message || ''
  setConnState('idle', 'not connected')
  ui.tokenInput.value = ''
  ui.tokenInput.focus()
}

function endSession() {
  state.session += 1
  state.stopSession.abort()
  state.stopSession = new AbortController()
  state.connected = false
  clearInterval(state.broadcastTimer)
  clearTimeout(state.broadcastRefresh)
}

function authFailed() {
  endSession()
  sessionStorage.removeItem(TOKEN_KEY)
  state.token = null
  showAuth('The admin token was rejected (HTTP 401 unauthorized). Check admin.token and enter it again.')
}

function forbidden(error) {
  endSession()
  ui.auth.hidden = true
  ui.main.hidden = true
  ui.banner.hidden = true
  ui.fatal.hidden = false
  const reason = error && error.message ? error.message : 'forbidden (HTTP 403)'
  ui.fatal.textContent = reason.startsWith('forbidden')
    ? 'The admin API refused this page (HTTP 403): the server has no admin.token configured and then answers loopback clients only. Set admin.token (e.g. ${SWITCHYARD_ADMIN_TOKEN}) to use the dashboard from here.'
    : `The admin API refused this page: ${reason}.`
}

/** Any failed call lands here: auth problems end the session, the rest is shown briefly. */
function handleError(error, what) {
  if (error instanceof AuthError) return authFailed()
  if (error instanceof ForbiddenError) return forbidden(error)
  if (error && error.name === 'AbortError') return undefined
  toast(`${what}: ${error && error.message ? error.message : String(error)}`, true)
  return undefined
}

async function submitToken(event) {
  event.preventDefault()
  const token = ui.tokenInput.value.trim()
  if (token === '') return
  const button = ui.authForm.querySelector('button')
  button.disabled = true
  state.token = token
  try {
    const body = await getJson('/admin/api/chains')
    sessionStorage.setItem(TOKEN_KEY, token)
    start(body)
  } catch (error) {
    state.token = null
    if (error instanceof AuthError) showAuth('Wrong token: the server answered 401 unauthorized. Try again.')
    else if (error instanceof ForbiddenError) forbidden(error)
    else showAuth(`Could not reach the admin API (${error && error.message ? error.message : error}). Try again.`)
  } finally {
    button.disabled = false
  }
}

function signOut() {
  endSession()
  sessionStorage.removeItem(TOKEN_KEY)
  state.token = null
  showAuth('')
}

function start(initialSnapshot) {
  endSession()
  const session = state.session
  ui.auth.hidden = true
  ui.fatal.hidden = true
  ui.main.hidden = false
  ui.signOut.hidden = state.token === ''
  // Without admin.token the server answers this machine read-only and refuses every action.
  document.body.toggleAttribute('data-read-only', state.token === '')
  ui.readOnly.hidden = state.token !== ''
  if (initialSnapshot) renderSnapshot(initialSnapshot, false)
  void connectLoop(session)
}

async function boot() {
  ui.authForm.addEventListener('submit', submitToken)
  ui.signOut.addEventListener('click', signOut)
  ui.searchForm.addEventListener('submit', searchBroadcast)
  setInterval(tickDurations, 1_000)

  const saved = sessionStorage.getItem(TOKEN_KEY)
  if (saved) {
    state.token = saved
    start()
    return
  }
  // A server without admin.token answers loopback clients without one.
  try {
    state.token = ''
    const response = await api('/admin/api/chains')
    if (response.ok) {
      start(await response.json())
      return
    }
  } catch (error) {
    if (error instanceof ForbiddenError) return forbidden(error)
  }
  state.token = null
  showAuth('')
  return undefined
}

// ---------------------------------------------------------------- live stream

function setConnState(kind, text) {
  ui.conn.dataset.state = kind
  ui.connText.textContent = text
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

async function connectLoop(session) {
  let failures = 0
  let lastReason = ''
  while (session === state.session) {
    setConnState(failures === 0 ? 'connecting' : 'down', failures === 0 ? 'connecting…' : 'reconnecting…')
    try {
      await readStream(session, () => {
        failures = 0
        onConnected(session)
      })
      lastReason = 'the server ended the event stream'
    } catch (error) {
      if (session !== state.session) return
      if (error instanceof AuthError) return authFailed()
      if (error instanceof ForbiddenError) return forbidden(error)
      lastReason = describeFailure(error)
    }
    if (session !== state.session) return
    failures += 1
    state.connected = false
    clearInterval(state.broadcastTimer)
    const delay = Math.round(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (failures - 1)) * (0.8 + Math.random() * 0.4))
    showDisconnected(lastReason, delay, failures)
    await sleep(delay, state.stopSession.signal)
  }
  return undefined
}

function describeFailure(error) {
  if (!error) return 'unknown error'
  if (error.name === 'AbortError') return 'no data from the server for a while'
  if (error instanceof HttpError) return error.message
  if (error instanceof TypeError) return 'the server cannot be reached'
  return error.message || String(error)
}

function showDisconnected(reason, delayMs, failures) {
  ui.banner.hidden = false
  ui.main.classList.add('stale')
  setConnState('down', 'disconnected')
  const retryAt = Date.now() + delayMs
  const update = () => {
    const left = Math.max(0, Math.ceil((retryAt - Date.now()) / 1_000))
    ui.bannerDetail.textContent = `${reason}. ${left > 0 ? `Next attempt in ${left} s` : 'Trying now'}${failures > 1 ? ` (attempt ${failures + 1})` : ''}. The figures below are not live.`
  }
  update()
  clearInterval(state.bannerTimer)
  state.bannerTimer = setInterval(() => {
    if (state.connected || ui.banner.hidden) return clearInterval(state.bannerTimer)
    update()
    return undefined
  }, 500)
}

function onConnected(session) {
  if (session !== state.session) return
  state.connected = true
  ui.banner.hidden = true
  clearInterval(state.bannerTimer)
  ui.main.classList.remove('stale')
  setConnState('live', 'live')
  // Catch up on what the stream does not replay.
  void loadHistory(session)
  void loadTimeline(session)
  void loadBroadcasts(session)
  clearInterval(state.broadcastTimer)
  state.broadcastTimer = setInterval(() => void loadBroadcasts(session), BROADCAST_REFRESH_MS)
}

/** Reads one connection of the event stream until it ends; `onOpen` runs at the first snapshot. */
async function readStream(session, onOpen) {
  const controller = new AbortController()
  const stop = () => controller.abort()
  state.stopSession.signal.addEventListener('abort', stop, { once: true })
  let idleTimer
  const armIdle = () => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(stop, STREAM_IDLE_MS)
  }
  try {
    armIdle()
    const response = await api('/admin/api/events', { signal: controller.signal, headers: { accept: 'text/event-stream' } })
    if (!response.ok || !response.body) throw new HttpError(response.status, await errorText(response))
    const reader = response.body.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    let opened = false
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      armIdle()
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n')
      let end
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = parseFrame(frame)
        if (event === undefined || session !== state.session) continue
        if (event.name === 'snapshot') {
          if (!opened) {
            opened = true
            onOpen()
          }
          renderSnapshot(event.data, true)
        } else if (event.name === 'timeline') {
          addTimelineEntry(event.data, true)
        }
      }
    }
  } finally {
    clearTimeout(idleTimer)
    state.stopSession.signal.removeEventListener('abort', stop)
    controller.abort()
  }
}

/** One SSE frame → { name, data } (comments such as `: ping` → undefined). */
function parseFrame(frame) {
  let name = 'message'
  const data = []
  for (const line of frame.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') name = value
    else if (field === 'data') data.push(value)
  }
  if (data.length === 0) return undefined
  try {
    return { name, data: JSON.parse(data.join('\n')) }
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------- formatting

const dash = '—'

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'text') node.textContent = value
    else if (key === 'testid') node.dataset.testid = value
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child)
  return node
}

function fmtMs(value) {
  if (value === null || value === undefined) return dash
  if (value >= 1_000) return `${(value / 1_000).toFixed(2)} s`
  if (value >= 100) return `${Math.round(value)}`
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

function fmtLatency(p50, p95) {
  if (p50 === null && p95 === null) return dash
  return `${fmtMs(p50)} / ${fmtMs(p95)}`
}

function fmtRate(rate) {
  if (rate === null || rate === undefined) return dash
  if (rate === 0) return '0 %'
  const percent = rate * 100
  return `${percent < 1 ? percent.toFixed(2) : percent.toFixed(1)} %`
}

function fmtScore(score) {
  if (score === null || score === undefined || !Number.isFinite(score)) return dash
  if (score === 0) return '0'
  return score >= 1_000 ? score.toExponential(2) : Number(score.toPrecision(3)).toString()
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1_000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

function fmtClock(ms) {
  const date = new Date(ms)
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
  const today = new Date()
  if (date.toDateString() === today.toDateString()) return time
  return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`
}

function shortId(txid) {
  return txid.length > 22 ? `${txid.slice(0, 12)}…${txid.slice(-8)}` : txid
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text
}

function setAttr(node, name, value) {
  if (value === undefined || value === null || value === '') {
    if (node.hasAttribute(name)) node.removeAttribute(name)
  } else if (node.getAttribute(name) !== value) node.setAttribute(name, value)
}

// ---------------------------------------------------------------- chains

function sameNodes(view, chain) {
  return view.nodeIds.length === chain.nodes.length && chain.nodes.every((node, index) => view.nodeIds[index] === node.id)
}

function renderSnapshot(body, live) {
  if (!body || !Array.isArray(body.chains)) return
  const names = body.chains.map((chain) => chain.name)
  for (const [name, view] of state.chains) {
    if (!names.includes(name)) {
      destroyChain(view)
      state.chains.delete(name)
    }
  }
  for (const chain of body.chains) {
    let view = state.chains.get(chain.name)
    if (view && !sameNodes(view, chain)) {
      destroyChain(view)
      state.chains.delete(chain.name)
      view = undefined
    }
    if (!view) {
      view = createChain(chain)
      state.chains.set(chain.name, view)
    }
    updateChain(view, chain)
    if (live) appendPoint(view, chain, serverNow())
  }
  // Keep panels in the server's order.
  const wanted = names.map((name) => state.chains.get(name).el)
  if (wanted.some((node, index) => ui.chains.children[index] !== node)) ui.chains.replaceChildren(...wanted)
}

function createChain(chain) {
  const name = chain.name
  const view = {
    name,
    nodeIds: chain.nodes.map((node) => node.id),
    rows: new Map(),
    points: [],
    charts: {},
  }
  view.headEl = el('span', { class: 'head', testid: `head-${name}` })
  view.routableEl = el('span', { class: 'routable', testid: `routable-${name}` })
  view.forkEl = el('span', { class: 'fork', testid: `fork-${name}`, hidden: true })
  view.probeBtn = el('button', { type: 'button', class: 'secondary', testid: `probe-${name}`, text: 'Probe now', title: `Probe every ${name} node now`, onclick: () => probeChain(view) })
  const tbody = el('tbody')
  for (const node of chain.nodes) {
    const row = createRow(name, node.id, view.nodeIds.indexOf(node.id))
    view.rows.set(node.id, row)
    tbody.append(row.tr)
  }
  const table = el(
    'table',
    { class: 'nodes', testid: `nodes-${name}` },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { text: 'node' }),
        el('th', { text: 'status' }),
        el('th', { class: 'num', text: 'height' }),
        el('th', { class: 'num', text: 'lag' }),
        el('th', { class: 'num', text: 'latency p50 / p95 (ms)' }),
        el('th', { class: 'num', text: 'errors' }),
        el('th', { class: 'num', text: 'score' }),
        el('th', { text: 'provider / region · capabilities' }),
        el('th', { class: 'num', text: 'in state' }),
        el('th', { class: 'num', text: 'ejections' }),
        el('th', { class: 'actions-col', text: '' }),
      ),
    ),
    tbody,
  )
  view.lagChartEl = el('div', { class: 'chart', testid: `chart-lag-${name}` })
  view.latencyChartEl = el('div', { class: 'chart', testid: `chart-latency-${name}` })
  view.el = el(
    'section',
    { class: 'panel chain', testid: `chain-${name}` },
    el(
      'div',
      { class: 'panel-head' },
      el('h2', {}, el('span', { text: name }), el('span', { class: 'family', text: chain.family })),
      view.headEl,
      view.routableEl,
      view.forkEl,
      el('span', { class: 'spacer' }),
      view.probeBtn,
    ),
    el('div', { class: 'table-wrap' }, table),
    el(
      'div',
      { class: 'charts' },
      el('figure', {}, el('figcaption', { text: 'Blocks behind the pool head' }), view.lagChartEl),
      el('figure', {}, el('figcaption', { text: 'Latency, ms (peak EWMA)' }), view.latencyChartEl),
    ),
  )
  ui.chains.append(view.el)
  return view
}

function destroyChain(view) {
  view.resizeObserver?.disconnect()
  for (const chart of Object.values(view.charts)) chart.destroy()
  view.el.remove()
}

function createRow(chain, id, index) {
  const key = `${chain}-${id}`
  const row = {
    since: 0,
    status: '',
    badge: el('span', { class: 'badge', testid: `status-${key}` }),
    reason: el('div', { class: 'reason', testid: `reason-${key}` }),
    height: el('span', { testid: `height-${key}` }),
    ws: el('span', { class: 'ws', hidden: true }),
    lag: el('td', { class: 'num', testid: `lag-${key}` }),
    latency: el('td', { class: 'num', testid: `latency-${key}` }),
    errors: el('td', { class: 'num', testid: `errors-${key}` }),
    score: el('td', { class: 'num', testid: `score-${key}` }),
    provider: el('span', { testid: `provider-${key}` }),
    caps: el('div', { class: 'caps', testid: `caps-${key}` }),
    sinceEl: el('td', { class: 'num', testid: `since-${key}` }),
    ejections: el('td', { class: 'num', testid: `ejections-${key}` }),
  }
  row.cordonBtn = el('button', { type: 'button', class: 'danger', testid: `cordon-${key}`, text: 'Cordon', onclick: () => cordonNode(chain, id, row) })
  row.uncordonBtn = el('button', { type: 'button', class: 'secondary', testid: `uncordon-${key}`, text: 'Uncordon', hidden: true, onclick: () => uncordonNode(chain, id, row) })
  const swatch = el('span', { class: 'swatch', style: `background:${NODE_COLORS[index % NODE_COLORS.length]}`, 'aria-hidden': 'true' })
  row.tr = el(
    'tr',
    { testid: `node-row-${key}`, 'data-node': id },
    el('th', { scope: 'row' }, el('span', { class: 'node-id' }, swatch, el('span', { text: id }))),
    el('td', { class: 'status-cell' }, row.badge, row.reason),
    el('td', { class: 'num' }, row.height, row.ws),
    row.lag,
    row.latency,
    row.errors,
    row.score,
    el('td', { class: 'provider' }, row.provider, row.caps),
    row.sinceEl,
    row.ejections,
    el('td', { class: 'actions' }, row.cordonBtn, row.uncordonBtn),
  )
  return row
}

function updateChain(view, chain) {
  const served = chain.readHead ?? null
  const behind = chain.head !== null && served !== null && served < chain.head
  setText(view.headEl, chain.head === null ? 'head —' : behind ? `head ${chain.head} · served ${served}` : `head ${chain.head}`)
  setAttr(
    view.headEl,
    'title',
    behind
      ? 'pool head: the highest height reached by a quorum of nodes; served: the height reads are answered at, until the newer blocks\' hashes are compared across nodes'
      : 'pool head: the highest height reached by a quorum of nodes',
  )
  const total = chain.nodes.length
  setText(view.routableEl, chain.routable === 0 ? `0 / ${total} routable — requests fail closed` : `${chain.routable} / ${total} routable`)
  view.routableEl.classList.toggle('none', chain.routable === 0)
  view.routableEl.classList.toggle('partial', chain.routable > 0 && chain.routable < total)
  // Forked nodes with no majority: reads at that height need two agreeing nodes (admin snapshot `fork`).
  const fork = chain.fork ?? null
  view.forkEl.hidden = fork === null || fork.resolved === true
  if (fork !== null && fork.resolved !== true) {
    setText(view.forkEl, `nodes disagree about block ${fork.height} — no majority`)
    setAttr(view.forkEl, 'title', (fork.groups ?? []).map((group) => `${group.hash}: ${group.nodes.join(', ')}`).join('\n'))
  }
  for (const node of chain.nodes) {
    const row = view.rows.get(node.id)
    if (row) updateRow(row, node)
  }
}

/** Short tags for what a node can serve beyond the head (admin snapshot `capabilities`). */
function capabilityTags(caps) {
  if (caps === null || caps === undefined) return []
  const tags = []
  if (caps.pruned === true) tags.push(caps.pruneHeight === null || caps.pruneHeight === undefined ? 'pruned' : `pruned < ${caps.pruneHeight}`)
  if (caps.txindex === true) tags.push('txindex')
  if (caps.txindex === false) tags.push('no txindex')
  if (caps.archive === true) tags.push('archive')
  if (caps.stateMissingBelow !== null && caps.stateMissingBelow !== undefined) tags.push(`state ≥ ${caps.stateMissingBelow}`)
  return tags
}

function updateRow(row, node) {
  if (row.status !== node.status) {
    row.status = node.status
    row.badge.className = `badge status-${node.status}`
    row.badge.dataset.status = node.status
    row.tr.dataset.status = node.status
    setText(row.badge, node.status)
  }
  setText(row.reason, node.reason)
  setAttr(row.reason, 'title', node.lastError ? `last error: ${node.lastError}` : node.reason)
  setAttr(row.badge, 'title', node.lastError ? `${node.reason}\nlast error: ${node.lastError}` : node.reason)
  setText(row.height, node.height === null ? dash : String(node.height))
  setAttr(row.height, 'title', node.lastProbeAt ? `last probe ${fmtClock(Date.parse(node.lastProbeAt))}` : 'not probed yet')
  if (node.headsSubscription === null || node.headsSubscription === undefined) row.ws.hidden = true
  else {
    row.ws.hidden = false
    setText(row.ws, node.headsSubscription === 'connected' ? 'ws' : 'ws ✕')
    row.ws.classList.toggle('off', node.headsSubscription !== 'connected')
    setAttr(row.ws, 'title', `newHeads subscription ${node.headsSubscription}`)
  }
  setText(row.lag, node.lag === null ? dash : String(node.lag))
  row.lag.classList.toggle('warn', node.lag !== null && node.lag > 0)
  setText(row.latency, fmtLatency(node.latencyP50Ms, node.latencyP95Ms))
  setAttr(row.latency, 'title', node.latencyMs === null ? '' : `peak EWMA ${fmtMs(node.latencyMs)} ms`)
  setText(row.errors, fmtRate(node.errorRate))
  row.errors.classList.toggle('warn', node.errorRate > 0.05)
  setAttr(row.errors, 'title', `${node.failures} failed of ${node.requests} requests; ${node.inFlight} in flight`)
  setText(row.score, fmtScore(node.score))
  setAttr(row.score, 'title', `weight ${node.weight}`)
  const where = [node.provider, node.region].filter((part) => part !== null && part !== undefined && part !== '')
  setText(row.provider, where.length === 0 ? dash : where.join(' · '))
  const tags = capabilityTags(node.capabilities)
  setText(row.caps, tags.join(' · '))
  row.caps.hidden = tags.length === 0
  row.since = Date.parse(node.since)
  setText(row.sinceEl, fmtDuration(serverNow() - row.since))
  setAttr(row.sinceEl, 'title', `${node.status} since ${new Date(row.since).toLocaleString()}`)
  setText(row.ejections, String(node.ejections))
  const cordoned = node.status === 'cordoned'
  row.cordonBtn.hidden = cordoned
  row.uncordonBtn.hidden = !cordoned
}

function tickDurations() {
  const now = serverNow()
  for (const view of state.chains.values()) {
    for (const row of view.rows.values()) if (row.since) setText(row.sinceEl, fmtDuration(now - row.since))
  }
}

// ---------------------------------------------------------------- charts

function appendPoint(view, chain, at) {
  const lag = {}
  const latency = {}
  for (const node of chain.nodes) {
    lag[node.id] = node.lag
    latency[node.id] = node.latencyMs
  }
  const last = view.points[view.points.length - 1]
  if (last && at <= last.at) return
  view.points.push({ at, lag, latency })
  trimPoints(view, at)
  drawCharts(view)
}

function trimPoints(view, now) {
  const oldest = now - WINDOW_MS
  let drop = 0
  while (drop < view.points.length && view.points[drop].at < oldest) drop += 1
  if (drop > 0) view.points.splice(0, drop)
}

async function loadHistory(session) {
  let body
  try {
    body = await getJson('/admin/api/history')
  } catch (error) {
    if (session === state.session) handleError(error, 'history')
    return
  }
  if (session !== state.session || !body || !Array.isArray(body.samples)) return
  for (const view of state.chains.values()) {
    const historic = []
    for (const sample of body.samples) {
      const chain = sample.chains ? sample.chains[view.name] : undefined
      if (!chain) continue
      const lag = {}
      const latency = {}
      for (const [id, node] of Object.entries(chain.nodes || {})) {
        lag[id] = node.lag
        latency[id] = node.latencyMs
      }
      historic.push({ at: sample.at, lag, latency })
    }
    const lastHistoric = historic.length > 0 ? historic[historic.length - 1].at : -Infinity
    view.points = [...historic, ...view.points.filter((point) => point.at > lastHistoric)]
    trimPoints(view, serverNow())
    drawCharts(view)
  }
}

function chartData(view, field) {
  const xs = view.points.map((point) => point.at / 1_000)
  const series = view.nodeIds.map((id) => view.points.map((point) => {
    const value = point[field][id]
    return value === undefined ? null : value
  }))
  return [xs, ...series]
}

const MIN_SPAN_S = 2 * 60
const TIME_INCRS = [15, 30, 60, 120, 300, 600, 900, 1_800, 3_600]

/** x-axis labels: HH:MM, with seconds when ticks are less than a minute apart. */
function timeLabels(_u, splits) {
  const withSeconds = splits.length > 1 && splits[1] - splits[0] < 60
  const format = withSeconds ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false } : { hour: '2-digit', minute: '2-digit', hour12: false }
  return splits.map((v) => new Date(v * 1_000).toLocaleTimeString([], format))
}

/** Legend text: the value under the cursor, or the latest one when the cursor is elsewhere. */
function legendValue(format) {
  return (u, value, seriesIdx, idx) => {
    let shown = value
    if (idx === null || idx === undefined) {
      const column = u.data[seriesIdx] || []
      shown = column.length > 0 ? column[column.length - 1] : null
    }
    return shown === null || shown === undefined ? dash : format(shown)
  }
}

function chartOptions(view, kind, width) {
  const isLag = kind === 'lag'
  const stepped = isLag && window.uPlot.paths && window.uPlot.paths.stepped ? window.uPlot.paths.stepped({ align: 1 }) : undefined
  return {
    width,
    height: 170,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // At least the last 2 minutes, at most the 15 the server keeps.
      x: {
        time: true,
        range: (_u, dataMin) => {
          const now = serverNow() / 1_000
          const from = dataMin === null || dataMin === undefined ? now - MIN_SPAN_S : Math.min(now - MIN_SPAN_S, dataMin)
          return [Math.max(from, now - WINDOW_MS / 1_000), now]
        },
      },
      y: {
        range: (_u, _min, max) => (isLag ? [0, Math.max(4, Math.ceil((max || 0) * 1.15))] : [0, Math.max(1, (max || 0) * 1.15)]),
      },
    },
    axes: [
      {
        stroke: '#64748b',
        grid: { stroke: '#eef2f7' },
        ticks: { stroke: '#e2e8f0' },
        space: 70,
        incrs: TIME_INCRS,
        values: timeLabels,
      },
      {
        stroke: '#64748b',
        size: 44,
        grid: { stroke: '#eef2f7' },
        ticks: { stroke: '#e2e8f0' },
        ...(isLag ? { values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : '')) } : {}),
      },
    ],
    series: [
      { label: 'time', value: (_u, v, _s, idx) => (idx === null || idx === undefined || v === null ? 'now' : fmtClock(v * 1_000)) },
      ...view.nodeIds.map((id, index) => ({
        label: id,
        stroke: NODE_COLORS[index % NODE_COLORS.length],
        width: 1.5,
        paths: stepped,
        value: legendValue(isLag ? (v) => `${v} blk` : (v) => `${fmtMs(v)} ms`),
      })),
    ],
  }
}

function drawCharts(view) {
  if (!window.uPlot) return
  if (view.el.offsetParent === null && !view.charts.lag) return // not laid out yet (page hidden)
  if (!view.charts.lag) {
    const width = chartWidth(view.lagChartEl)
    view.charts.lag = new window.uPlot(chartOptions(view, 'lag', width), chartData(view, 'lag'), view.lagChartEl)
    view.charts.latency = new window.uPlot(chartOptions(view, 'latency', width), chartData(view, 'latency'), view.latencyChartEl)
    view.resizeObserver = new ResizeObserver(() => {
      const next = chartWidth(view.lagChartEl)
      for (const chart of Object.values(view.charts)) if (chart.width !== next) chart.setSize({ width: next, height: 170 })
    })
    view.resizeObserver.observe(view.lagChartEl.parentElement)
    return
  }
  view.charts.lag.setData(chartData(view, 'lag'))
  view.charts.latency.setData(chartData(view, 'latency'))
}

function chartWidth(container) {
  const figure = container.parentElement
  const style = getComputedStyle(figure)
  const inner = figure.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
  return Math.max(240, Math.floor(inner))
}

// ---------------------------------------------------------------- actions

async function refreshChains() {
  try {
    renderSnapshot(await getJson('/admin/api/chains'), false)
  } catch (error) {
    handleError(error, 'refresh')
  }
}

async function cordonNode(chain, id, row) {
  const reason = window.prompt(`Cordon ${chain}/${id}: it will get no traffic until uncordoned.\n\nReason (shown to other operators):`, '')
  if (reason === null) return
  if (!window.confirm(`Take ${chain}/${id} out of rotation?\n\nReason: ${reason.trim() || '(none given)'}`)) return
  row.cordonBtn.disabled = true
  try {
    await postJson(`/admin/api/nodes/${encodeURIComponent(chain)}/${encodeURIComponent(id)}/cordon`, { reason: reason.trim() || `cordoned from the dashboard` })
    toast(`${chain}/${id} cordoned`)
    await refreshChains()
  } catch (error) {
    handleError(error, `cordon ${chain}/${id}`)
  } finally {
    row.cordonBtn.disabled = false
  }
}

async function uncordonNode(chain, id, row) {
  if (!window.confirm(`Uncordon ${chain}/${id}?\n\nIt is routed again once its probes show it healthy.`)) return
  row.uncordonBtn.disabled = true
  try {
    await postJson(`/admin/api/nodes/${encodeURIComponent(chain)}/${encodeURIComponent(id)}/uncordon`)
    toast(`${chain}/${id} uncordoned`)
    await refreshChains()
  } catch (error) {
    handleError(error, `uncordon ${chain}/${id}`)
  } finally {
    row.uncordonBtn.disabled = false
  }
}

async function probeChain(view) {
  view.probeBtn.disabled = true
  const label = view.probeBtn.textContent
  view.probeBtn.textContent = 'Probing…'
  try {
    await postJson(`/admin/api/chains/${encodeURIComponent(view.name)}/probe`)
    toast(`${view.name}: probe round done`)
    await refreshChains()
  } catch (error) {
    handleError(error, `probe ${view.name}`)
  } finally {
    view.probeBtn.disabled = false
    view.probeBtn.textContent = label
  }
}

let toastTimer
function toast(message, isError = false) {
  ui.toast.textContent = message
  ui.toast.classList.toggle('error', isError)
  ui.toast.hidden = false
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => {
    ui.toast.hidden = true
  }, isError ? 6_000 : 3_000)
}

// ---------------------------------------------------------------- timeline

function timelineKey(entry) {
  return [entry.at, entry.kind, entry.chain, entry.nodeId ?? '', entry.txid ?? '', entry.text].join('|')
}

async function loadTimeline(session) {
  let body
  try {
    body = await getJson('/admin/api/timeline?limit=200')
  } catch (error) {
    if (session === state.session) handleError(error, 'timeline')
    return
  }
  if (session !== state.session || !body || !Array.isArray(body.entries)) return
  for (const entry of body.entries) addTimelineEntry(entry, false)
  renderTimeline()
}

function addTimelineEntry(entry, live) {
  if (!entry || typeof entry.at !== 'number') return
  const key = timelineKey(entry)
  if (state.timelineKeys.has(key)) return
  state.timelineKeys.add(key)
  // Newest first; entries from a reload may be older than live ones already shown.
  let index = 0
  while (index < state.timeline.length && state.timeline[index].at > entry.at) index += 1
  state.timeline.splice(index, 0, entry)
  while (state.timeline.length > TIMELINE_MAX) state.timelineKeys.delete(timelineKey(state.timeline.pop()))
  if (live) {
    renderTimeline()
    if (entry.kind.startsWith('broadcast:')) scheduleBroadcastRefresh()
  }
}

function renderTimeline() {
  ui.timelineEmpty.hidden = state.timeline.length > 0
  ui.timeline.replaceChildren(...state.timeline.map(timelineItem))
}

function timelineItem(entry) {
  const kind = entry.kind.includes(':') ? entry.kind.split(':')[1] : entry.kind
  const tone = entry.kind === 'node:state' ? `status-${entry.to}` : `kind-${kind}`
  return el(
    'li',
    { testid: 'timeline-entry', 'data-kind': entry.kind, 'data-chain': entry.chain, 'data-node': entry.nodeId },
    el('time', { datetime: new Date(entry.at).toISOString(), title: new Date(entry.at).toLocaleString(), text: fmtClock(entry.at) }),
    el('span', { class: 'chain-tag', text: entry.chain }),
    el('span', { class: `badge small ${tone}`, text: entry.kind === 'node:state' ? entry.to ?? 'state' : kind }),
    el('span', { class: 'text', text: entry.text }),
  )
}

// ---------------------------------------------------------------- broadcasts

function scheduleBroadcastRefresh() {
  clearTimeout(state.broadcastRefresh)
  const session = state.session
  state.broadcastRefresh = setTimeout(() => void loadBroadcasts(session), 300)
}

async function loadBroadcasts(session) {
  let body
  try {
    body = await getJson('/admin/api/broadcasts?limit=50')
  } catch (error) {
    if (session === state.session) handleError(error, 'broadcasts')
    return
  }
  if (session !== state.session || !body || !Array.isArray(body.broadcasts)) return
  ui.broadcastsEmpty.hidden = body.broadcasts.length > 0
  ui.broadcastsBody.parentElement.hidden = body.broadcasts.length === 0
  ui.broadcastsBody.replaceChildren(...body.broadcasts.map(broadcastRow))
}

function broadcastRow(record) {
  return el(
    'tr',
    { testid: `broadcast-row-${record.chain}-${record.txid}`, 'data-status': record.status },
    el('td', { text: record.chain }),
    el('td', { class: 'mono', title: record.txid }, el('span', { text: shortId(record.txid) })),
    el('td', {}, el('span', { class: `badge small bstatus-${record.status}`, testid: `broadcast-status-${record.chain}-${record.txid}`, text: record.status })),
    el('td', { class: 'num', text: String(record.confirmations ?? 0) }),
    el('td', { class: 'num', text: record.blockHeight === undefined || record.blockHeight === null ? dash : String(record.blockHeight) }),
    el('td', { class: 'num', text: String(record.rebroadcasts ?? 0) }),
    el('td', { title: new Date(record.firstSeenAt).toLocaleString(), text: fmtClock(record.firstSeenAt) }),
    el('td', { class: 'outcomes' }, ...outcomeChips(record.outcomes || [])),
  )
}

/** The latest outcome per node, with that node's whole history in the tooltip. */
function outcomeChips(outcomes) {
  const byNode = new Map()
  for (const outcome of [...outcomes].sort((a, b) => a.at - b.at)) {
    const list = byNode.get(outcome.nodeId) || []
    list.push(outcome)
    byNode.set(outcome.nodeId, list)
  }
  if (byNode.size === 0) return [el('span', { class: 'muted', text: dash })]
  return [...byNode.entries()].map(([nodeId, list]) => {
    const latest = list[list.length - 1]
    const title = list
      .map((o) => `${fmtClock(o.at)} ${o.outcome}${o.code !== undefined && o.code !== null ? ` (${o.code})` : ''}${o.message ? `: ${o.message}` : ''}`)
      .join('\n')
    return el('span', { class: `chip outcome-${latest.outcome}`, title }, el('b', { text: nodeId }), ` ${latest.outcome}`)
  })
}

async function searchBroadcast(event) {
  event.preventDefault()
  const txid = ui.searchInput.value.trim()
  if (txid === '') {
    ui.searchResult.hidden = true
    return
  }
  const chains = [...state.chains.keys()]
  const session = state.session
  ui.searchResult.hidden = false
  ui.searchResult.replaceChildren(el('p', { class: 'muted', text: `Looking for ${txid}…` }))
  const found = []
  const problems = []
  await Promise.all(chains.map(async (chain) => {
    try {
      const response = await api(`/admin/api/broadcasts/${encodeURIComponent(chain)}/${encodeURIComponent(txid)}`)
      if (response.status === 404) return
      if (!response.ok) throw new HttpError(response.status, await errorText(response))
      found.push(await response.json())
    } catch (error) {
      if (error instanceof AuthError || error instanceof ForbiddenError) throw error
      problems.push(`${chain}: ${error && error.message ? error.message : error}`)
    }
  })).catch((error) => handleError(error, 'search'))
  if (session !== state.session || ui.searchInput.value.trim() !== txid) return // signed out, or a newer search is under way
  const close = el('button', { type: 'button', class: 'link', text: 'close', onclick: () => { ui.searchResult.hidden = true } })
  if (found.length === 0) {
    ui.searchResult.replaceChildren(
      el('p', {}, el('span', { text: problems.length > 0 ? `Search failed (${problems.join('; ')}). ` : `No broadcast ${txid} on ${chains.join(', ') || 'any chain'}. ` }), close),
    )
    return
  }
  const table = el(
    'table',
    { class: 'broadcasts' },
    el('thead', {}, ui.broadcastsBody.parentElement.tHead.rows[0].cloneNode(true)),
    el('tbody', {}, ...found.map(broadcastRow)),
  )
  ui.searchResult.replaceChildren(el('div', { class: 'search-head' }, el('strong', { text: 'Search result' }), close), el('div', { class: 'table-wrap' }, table))
}

void boot()

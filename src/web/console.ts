/**
 * The peerlink web console: runs in the browser, served by the node itself.
 *
 * Every text that came from the network goes into the page through
 * `textContent` (never as HTML), with control characters made visible, so a
 * message holding `<script>`, `<img onerror>` or ANSI codes shows as text.
 * The node's Content-Security-Policy forbids inline script on top of that.
 */
export {}

type Json = Record<string, unknown>

interface Sample {
  t: number
  relayed: number
  connections: number
}

interface PeerRow {
  name: string
  url: string
  up: boolean
  pending: number
}

const TOKEN_KEY = 'peerlink-token'
const MAX_EVENTS = 500
const MAX_SENT = 50
const MAX_CLIENT_ROWS = 200
const HISTORY_SAMPLES = 600
const MIN_CHART_SAMPLES = 60
const RECONNECT_MAX_MS = 5000

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id)
  if (!found) throw new Error(`the page has no #${id}`)
  return found as T
}

let token: string | undefined
let socket: WebSocket | undefined
let reconnectMs = 500
/** the chart's samples, one a second, oldest first */
let samples: Sample[] = []

// ---------------------------------------------------------------- text safety

/**
 * Makes invisible and direction-changing characters visible: C0 controls
 * (but tab and newline) and DEL as `\xNN` (so `ESC[31m` reads `\x1b[31m`),
 * bidi overrides as `<U+202E>`.
 */
function visible(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase()}>`)
}

function str(value: unknown): string {
  return typeof value === 'string' ? visible(value) : value === undefined ? '' : visible(JSON.stringify(value))
}

/** An element with `text` as its text (never parsed as HTML). */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (cls) node.className = cls
  if (text !== undefined) node.textContent = text
  return node
}

// ---------------------------------------------------------------- HTTP

interface Answer {
  status: number
  body: Json
}

/** One call to the node with the token; resolves with any status, rejects only when the node cannot be reached. */
async function api(method: string, path: string, body?: unknown, withToken = token): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (withToken !== undefined) headers.authorization = `Bearer ${withToken}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store'})
  let parsed: Json = {}
  try {
    const value: unknown = await res.json()
    if (value && typeof value === 'object') parsed = value as Json
  } catch {
    // not JSON: status alone tells
  }
  return {status: res.status, body: parsed}
}

// ---------------------------------------------------------------- token

/** The token from `?token=`, dropped from the address bar at once so it stays out of the history and screenshots. */
function takeTokenFromAddress(): string | undefined {
  const url = new URL(location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl === null) return undefined
  url.searchParams.delete('token')
  window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`)
  return fromUrl
}

function setStatus(text: string, kind: 'live' | 'down' | 'refused' | ''): void {
  const status = byId('status')
  status.textContent = text
  status.className = `status ${kind}`
}

function showLogin(error: string): void {
  byId('app').hidden = true
  byId('login').hidden = false
  byId('login-error').textContent = error
  setStatus(error ? 'refused' : 'token needed', error ? 'refused' : '')
  byId<HTMLInputElement>('token').focus()
}

/** Tries `candidate` against `GET /stats`; opens the console when the node takes it. */
async function tryToken(candidate: string | undefined): Promise<void> {
  let answer: Answer
  try {
    answer = await api('GET', '/stats', undefined, candidate)
  } catch {
    showLogin('cannot reach the node: is it still running?')
    return
  }
  if (answer.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    showLogin(candidate === undefined ? '' : `wrong token: the node refused it (401 ${str(answer.body.msg)})`)
    return
  }
  if (answer.status !== 200) {
    showLogin(`the node answered ${answer.status}: ${str(answer.body.msg)}`)
    return
  }
  token = candidate
  if (candidate !== undefined) sessionStorage.setItem(TOKEN_KEY, candidate)
  byId('login').hidden = true
  byId('app').hidden = false
  showStats(answer.body)
  connect()
  void refreshClients()
}

// ---------------------------------------------------------------- the event stream

function connect(): void {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`
  const ws = new WebSocket(`${scheme}//${location.host}/events${query}`)
  socket = ws
  let opened = false
  setStatus('connecting…', '')
  ws.addEventListener('open', () => {
    opened = true
    reconnectMs = 500
    setStatus('live', 'live')
  })
  ws.addEventListener('message', (msg) => {
    if (typeof msg.data !== 'string') return
    let frame: Json
    try {
      frame = JSON.parse(msg.data) as Json
    } catch {
      return
    }
    onFrame(frame)
  })
  ws.addEventListener('close', () => {
    if (socket !== ws) return
    socket = undefined
    void reconnect(opened)
  })
}

/** After the stream closed: a refused token goes back to the login, anything else retries with backoff. */
async function reconnect(wasOpen: boolean): Promise<void> {
  setStatus(wasOpen ? 'disconnected; reconnecting…' : 'cannot connect; retrying…', 'down')
  try {
    const answer = await api('GET', '/stats')
    if (answer.status === 401) {
      showLogin('wrong token: the node no longer takes it (401)')
      return
    }
  } catch {
    // the node is down: keep trying
  }
  const wait = reconnectMs
  reconnectMs = Math.min(reconnectMs * 2, RECONNECT_MAX_MS)
  setTimeout(connect, wait)
}

function onFrame(frame: Json): void {
  switch (frame.type) {
    case 'hello':
      byId('node-name').textContent = str(frame.node)
      byId('node-url').textContent = str(frame.url)
      document.title = `peerlink ${str(frame.node)}`
      samples = Array.isArray(frame.history) ? (frame.history as Sample[]).slice(-HISTORY_SAMPLES) : []
      drawChart()
      return
    case 'tick':
      onTick(frame)
      return
    case 'event':
      if (frame.data && typeof frame.data === 'object') onEvent(frame.data as Json)
      return
    case 'folded':
      addEventLine(str(frame.ts), folded(frame), 'ev-folded')
      return
    default:
  }
}

function folded(frame: Json): string {
  const parts: string[] = []
  if (Number(frame.relayed) > 0) parts.push(`relayed ${Number(frame.relayed)} messages`)
  if (Number(frame.connected) > 0) parts.push(`${Number(frame.connected)} clients connected`)
  if (Number(frame.disconnected) > 0) parts.push(`${Number(frame.disconnected)} disconnected`)
  return `${parts.join(', ')} (more than ${Number(frame.per_second)}/s, folded)`
}

function onTick(frame: Json): void {
  if (frame.stats && typeof frame.stats === 'object') showStats(frame.stats as Json)
  if (Array.isArray(frame.peers)) showPeers(frame.peers as PeerRow[])
  byId('uptime').textContent = `up ${duration(Number(frame.uptime_ms))}`
  const sample = frame.sample as Sample | undefined
  if (sample && typeof sample.t === 'number' && samples.at(-1)?.t !== sample.t) {
    samples.push(sample)
    if (samples.length > HISTORY_SAMPLES) samples.shift()
    drawChart()
  }
  byId('stat-rate').textContent = sample ? String(sample.relayed) : '0'
  const dropped = Number(frame.dropped)
  byId('events-note').textContent = dropped > 0 ? `${dropped} events skipped while this page was not keeping up` : ''
}

function duration(ms: number): string {
  if (!Number.isFinite(ms)) return ''
  const s = Math.floor(ms / 1000)
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

// ---------------------------------------------------------------- figures, peers, chart

function showStats(stats: Json): void {
  for (const key of ['connections', 'peers', 'pending', 'outbox', 'clients']) {
    byId(`stat-${key}`).textContent = str(stats[key])
  }
  if (typeof stats.name === 'string' && !byId('node-name').textContent) byId('node-name').textContent = str(stats.name)
}

function showPeers(peers: PeerRow[]): void {
  const body = byId('peers')
  body.replaceChildren(
    ...peers.map((p) => {
      const row = el('tr')
      row.append(el('td', '', str(p.name)), el('td', 'mono', str(p.url)), el('td', p.up ? 'up' : 'down', p.up ? 'up' : 'down'), el('td', '', str(p.pending)))
      return row
    }),
  )
  byId('peers-empty').hidden = peers.length > 0
}

function drawChart(): void {
  const canvas = byId<HTMLCanvasElement>('chart')
  const ratio = window.devicePixelRatio || 1
  const width = canvas.clientWidth || 720
  const height = canvas.clientHeight || 180
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio)
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio)
  const ctx = canvas.getContext('2d')
  if (!ctx) return
  // for tests and curious people: how many samples the chart shows
  canvas.dataset.samples = String(samples.length)
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
  ctx.clearRect(0, 0, width, height)
  const pad = {left: 44, right: 44, top: 10, bottom: 20}
  const w = width - pad.left - pad.right
  const h = height - pad.top - pad.bottom
  const maxRelayed = Math.max(1, ...samples.map((s) => s.relayed))
  const maxConns = Math.max(1, ...samples.map((s) => s.connections))
  ctx.strokeStyle = '#e5e7eb'
  ctx.lineWidth = 1
  ctx.font = '11px system-ui, sans-serif'
  ctx.fillStyle = '#6b7280'
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + (h * i) / 4
    ctx.beginPath()
    ctx.moveTo(pad.left, y)
    ctx.lineTo(pad.left + w, y)
    ctx.stroke()
  }
  ctx.textAlign = 'right'
  ctx.fillText(String(maxRelayed), pad.left - 6, pad.top + 8)
  ctx.fillText('0', pad.left - 6, pad.top + h)
  ctx.textAlign = 'left'
  ctx.fillText(String(maxConns), pad.left + w + 6, pad.top + 8)
  ctx.fillText('0', pad.left + w + 6, pad.top + h)
  // the x axis spans at least a minute, and grows with the history up to ten
  const span = Math.min(HISTORY_SAMPLES, Math.max(MIN_CHART_SAMPLES, samples.length))
  ctx.textAlign = 'left'
  ctx.fillText(span >= 120 ? `-${Math.round(span / 60)} min` : `-${span} s`, pad.left, height - 4)
  ctx.textAlign = 'right'
  ctx.fillText('now', pad.left + w, height - 4)
  const x = (i: number) => pad.left + w - ((samples.length - 1 - i) / (span - 1)) * w
  const series = (read: (s: Sample) => number, max: number, color: string, fill: boolean) => {
    if (samples.length === 0) return
    ctx.beginPath()
    samples.forEach((s, i) => {
      const y = pad.top + h - (read(s) / max) * h
      if (i === 0) ctx.moveTo(x(i), y)
      else ctx.lineTo(x(i), y)
    })
    ctx.strokeStyle = color
    ctx.lineWidth = 1.5
    ctx.stroke()
    if (fill) {
      ctx.lineTo(x(samples.length - 1), pad.top + h)
      ctx.lineTo(x(0), pad.top + h)
      ctx.closePath()
      ctx.fillStyle = 'rgba(37, 99, 235, 0.12)'
      ctx.fill()
    }
  }
  series((s) => s.relayed, maxRelayed, '#2563eb', true)
  series((s) => s.connections, maxConns, '#059669', false)
}

// ---------------------------------------------------------------- events

/** One line per event, worded like the text renderer's. */
function describe(ev: Json): {text: string; cls: string} {
  const s = (k: string) => str(ev[k])
  switch (ev.event) {
    case 'listening':
      return {text: `listening on ${s('url')}`, cls: ''}
    case 'peer_connected':
      return {text: `linked to peer ${s('peer')} (${s('url')})`, cls: 'ev-acked'}
    case 'peer_disconnected':
      return ev.dropped
        ? {text: `peer ${s('peer')} dropped: ${s('reason')}`, cls: 'ev-down'}
        : {text: `peer ${s('peer')} not connected: ${s('reason')}; ${ev.retry_in_ms === undefined ? 'reconnecting' : 'retrying'}`, cls: 'ev-down'}
    case 'client_connected':
      return ev.role === 'node' ? {text: `peer ${s('name')} dialed in`, cls: ''} : {text: `client ${s('name')} connected (id ${s('id')})`, cls: 'ev-dim'}
    case 'client_disconnected': {
      const why = `${s('code')}${ev.reason ? ` ${s('reason')}` : ''}`
      return ev.role === 'node' ? {text: `peer ${s('name')} hung up (${why})`, cls: 'ev-down'} : {text: `client ${s('name')} disconnected (${why})`, cls: 'ev-dim'}
    }
    case 'message_received':
      return {text: `${s('from')}: ${s('text')}${ev.repeat ? ' (resend, acknowledged again)' : ''}`, cls: 'ev-received'}
    case 'message_relayed':
      return {text: `relayed "${s('text')}" from ${s('from')} to ${s('to')}`, cls: 'ev-dim'}
    case 'message_sent':
      return Number(ev.attempt) > 1
        ? {text: `resent to ${s('to')} (attempt ${s('attempt')}): ${s('text')}`, cls: 'ev-down'}
        : {text: `sent to ${s('to')}: ${s('text')}`, cls: 'ev-dim'}
    case 'message_acked':
      return {text: `✓ ${s('to')} acknowledged: ${s('text')} (${s('rtt_ms')} ms)`, cls: 'ev-acked'}
    case 'message_failed':
      return {text: `✗ not acknowledged by ${s('to')}: ${s('text')} (${s('reason')})`, cls: 'ev-failed'}
    case 'cluster_joined':
      return {text: `joined cluster ${s('cluster')} on ${s('url')}`, cls: 'ev-acked'}
    case 'cluster_lost':
      return {text: `not connected to cluster ${s('cluster')} on ${s('url')}: ${s('reason')}; serving this node's connections only, retrying`, cls: 'ev-down'}
    case 'cluster_node_up':
      return {text: `cluster member ${s('member')} up (${s('reason')})`, cls: 'ev-acked'}
    case 'cluster_node_down':
      return {text: `cluster member ${s('member')} down (${s('reason')}); what it held is re-forwarded`, cls: 'ev-down'}
    case 'error':
      return {text: `error: ${s('msg')}`, cls: 'ev-error'}
    case 'info':
      return {text: ev.msg === undefined ? s('data') : s('msg'), cls: 'ev-dim'}
    case 'stopped':
      return {text: 'stopped', cls: 'ev-down'}
    default:
      return {text: str(ev), cls: ''}
  }
}

function onEvent(ev: Json): void {
  const {text, cls} = describe(ev)
  addEventLine(str(ev.ts), text, cls)
  switch (ev.event) {
    case 'message_sent':
    case 'message_acked':
    case 'message_failed':
      updateSent(ev)
      return
    case 'client_connected':
    case 'client_disconnected':
      scheduleClientsRefresh()
      return
    default:
  }
}

function addEventLine(ts: string, text: string, cls: string): void {
  const list = byId('events')
  const item = el('li', cls)
  const time = ts.length >= 23 ? ts.slice(11, 23) : ts
  item.append(el('span', 'ts', time), document.createTextNode(text))
  item.hidden = !matchesFilter(item)
  list.prepend(item)
  while (list.childElementCount > MAX_EVENTS) list.lastElementChild?.remove()
}

function matchesFilter(item: HTMLElement): boolean {
  const q = byId<HTMLInputElement>('filter').value.trim().toLowerCase()
  return q === '' || (item.textContent ?? '').toLowerCase().includes(q)
}

function applyFilter(): void {
  for (const item of byId('events').children) (item as HTMLElement).hidden = !matchesFilter(item as HTMLElement)
}

// ---------------------------------------------------------------- the send box

type PeerState = {state: 'queued' | 'sent' | 'acked' | 'failed'; rtt?: number; attempt?: number}

interface SentItem {
  text: string
  li: HTMLLIElement
  peers: Map<string, PeerState>
  note: HTMLElement
}

const sentItems: SentItem[] = []

async function send(text: string): Promise<void> {
  const item: SentItem = {text, li: el('li'), peers: new Map(), note: el('span', 'muted', 'sending…')}
  item.li.append(el('span', 'text', visible(text)), item.note)
  sentItems.unshift(item)
  const list = byId('sent')
  list.prepend(item.li)
  while (sentItems.length > MAX_SENT) sentItems.pop()?.li.remove()
  byId('send-error').textContent = ''
  let answer: Answer
  try {
    answer = await api('POST', '/send', {text})
  } catch {
    item.note.textContent = 'not sent: cannot reach the node'
    return
  }
  if (answer.status !== 200) {
    item.note.textContent = `not sent: ${str(answer.body.msg)}`
    item.note.className = 'ack failed'
    return
  }
  const queued = Array.isArray(answer.body.queued) ? (answer.body.queued as Array<{name: string; up: boolean}>) : []
  for (const peer of queued) if (!item.peers.has(peer.name)) item.peers.set(peer.name, {state: 'queued'})
  renderSent(item)
}

/** Matches a message_sent/acked/failed event to the oldest sent line with that text still waiting for that peer. */
function updateSent(ev: Json): void {
  const text = String(ev.text)
  const to = String(ev.to)
  const done = (p: PeerState | undefined) => p !== undefined && (p.state === 'acked' || p.state === 'failed')
  const candidates = sentItems.filter((i) => i.text === text && !done(i.peers.get(to)))
  const item = candidates.at(-1)
  if (!item) return
  if (ev.event === 'message_sent') item.peers.set(to, {state: 'sent', attempt: Number(ev.attempt)})
  else if (ev.event === 'message_acked') item.peers.set(to, {state: 'acked', rtt: Number(ev.rtt_ms)})
  else item.peers.set(to, {state: 'failed'})
  renderSent(item)
}

function renderSent(item: SentItem): void {
  const badges = [...item.peers].map(([peer, p]) => {
    const name = visible(peer)
    switch (p.state) {
      case 'acked':
        return el('span', 'ack acked', `✓ ${name} ${p.rtt} ms`)
      case 'failed':
        return el('span', 'ack failed', `✗ ${name} not acknowledged`)
      case 'sent':
        return el('span', 'ack', `→ ${name}${(p.attempt ?? 1) > 1 ? ` (attempt ${p.attempt})` : ''}, waiting for ok`)
      default:
        return el('span', 'ack', `→ ${name} queued (link not up yet)`)
    }
  })
  const note = el('span', 'badges')
  note.append(...badges)
  item.note.replaceWith(note)
  item.note = note
}

// ---------------------------------------------------------------- clients

let clientsTimer: number | undefined

function scheduleClientsRefresh(): void {
  if (clientsTimer !== undefined) return
  clientsTimer = window.setTimeout(() => {
    clientsTimer = undefined
    void refreshClients()
  }, 1000)
}

async function refreshClients(): Promise<void> {
  let answer: Answer
  try {
    answer = await api('GET', '/clients')
  } catch {
    return
  }
  if (answer.status !== 200) return
  const entries = Object.entries(answer.body)
  const rows = entries.slice(0, MAX_CLIENT_ROWS).map(([id, value]) => clientRow(id, value && typeof value === 'object' ? (value as Json) : {}))
  byId('clients').replaceChildren(...rows)
  byId('clients-note').textContent =
    entries.length === 0 ? 'No clients.' : entries.length > MAX_CLIENT_ROWS ? `Showing ${MAX_CLIENT_ROWS} of ${entries.length}.` : `${entries.length} in the table.`
}

/** The last answer to "ask time" per client id, kept across refreshes of the table. */
const timeAnswers = new Map<string, string>()

function clientRow(id: string, entry: Json): HTMLTableRowElement {
  const row = el('tr')
  const time = el('td', 'mono')
  const ask = el('button', 'link', 'ask time')
  ask.type = 'button'
  ask.title = 'ask this client for its clock (system-time)'
  ask.addEventListener('click', () => void askTime(id, time, ask))
  const answer = timeAnswers.get(id)
  if (answer !== undefined) time.append(el('span', '', answer), document.createTextNode(' '))
  time.append(ask)
  row.append(
    el('td', '', str(entry.name)),
    el('td', '', str(entry.role)),
    el('td', 'mono', `${str(entry.ip)}:${str(entry.port)}`),
    el('td', 'mono', str(id)),
    time,
  )
  row.title = str(entry.url ?? '')
  return row
}

async function askTime(id: string, cell: HTMLElement, button: HTMLButtonElement): Promise<void> {
  button.disabled = true
  let text: string
  try {
    const answer = await api('GET', `/clients/${encodeURIComponent(id)}/system-time`)
    text = answer.status === 200 ? str(answer.body.ts) : `${answer.status}: ${str(answer.body.msg)}`
  } catch {
    text = 'cannot reach the node'
  }
  button.disabled = false
  timeAnswers.set(id, text)
  cell.replaceChildren(el('span', '', text), document.createTextNode(' '), button)
}

// ---------------------------------------------------------------- start

function init(): void {
  byId('login-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const input = byId<HTMLInputElement>('token')
    const value = input.value.trim()
    input.value = ''
    if (value) void tryToken(value)
  })
  byId<HTMLInputElement>('send').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.isComposing) return
    const input = e.target as HTMLInputElement
    const text = input.value
    if (text === '') return
    input.value = ''
    void send(text)
  })
  byId('filter').addEventListener('input', applyFilter)
  byId('clients-refresh').addEventListener('click', () => void refreshClients())
  window.addEventListener('resize', drawChart)
  const fromAddress = takeTokenFromAddress()
  void tryToken(fromAddress ?? sessionStorage.getItem(TOKEN_KEY) ?? undefined)
}

init()

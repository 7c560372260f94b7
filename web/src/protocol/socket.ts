// The /ws half of the protocol (docs/protocol.md), for both faces: sign-in on the socket,
// sends that survive reconnects (client ids, idempotent resend), every stored message
// delivered once and in order per session (resume by sequence number, duplicates dropped),
// reconnects with backoff, heartbeats, and the closing codes.

import type {
  Ack,
  ErrorFrame,
  Locale,
  Message,
  MessageKind,
  Principal,
  Ready,
  SendFrame,
  SendTarget,
  ServerEvent,
  ServerFrame,
} from './types'

/** The socket closes with these codes (docs/protocol.md §6). */
export const CLOSE_SIGNED_OUT = 4401
export const CLOSE_TOO_MANY_SOCKETS = 4429
export const CLOSE_TOO_SLOW = 4008
/** At most this many sessions in one resume map (`ws_resume_max_sessions`). */
export const RESUME_MAX_SESSIONS = 1000
/** Resyncs this close together (two triggers of one outage) make at most one more refetch. */
export const RESYNC_COALESCE_MS = 1000

export type ConnectionState = 'connecting' | 'open' | 'waiting' | 'signed_out' | 'stopped'

/** The part of the browser's WebSocket the client uses (tests give it a fake). */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

export interface SocketOptions {
  token: () => string | null
  locale: () => Locale
  /** Default: `/ws` on the page's own origin. */
  url?: string
  createSocket?: (url: string) => WebSocketLike
  /** First reconnect delay and its cap, in milliseconds; doubled per failed attempt. */
  backoffMs?: { initial: number; max: number }
  random?: () => number
}

/** A send the server refused (docs/protocol.md §2, §6): its code and localized message. */
export class SendRefused extends Error {
  readonly code: string
  readonly params: Record<string, unknown>

  constructor(code: string, message: string, params: Record<string, unknown> = {}) {
    super(message)
    this.name = 'SendRefused'
    this.code = code
    this.params = params
  }
}

type OtherEvent = Exclude<ServerEvent, { type: 'message' | 'resync' }>

/** Why the pages should fetch their state again: a (re)connection, or a `resync`. */
export type RefetchCause = 'connected' | 'resync'

export interface SocketEvents {
  state: ConnectionState
  /** After every (re)connection: who is signed in and every open session. */
  ready: Ready
  /** Fetch again over REST what events keep up to date (statuses, restrictions, the robot's
   * mode, the inbox…): after every (re)connection (right after `ready`), and when the server
   * says events may have been lost between its nodes (`resync`, docs/protocol.md §3) — then
   * on the same socket, with every session's resume position kept. */
  refetch: RefetchCause
  /** Every stored message, exactly once, in sequence order per session: live ones, those a
   * resume brings, and the caller's own (match `client_id` to a message being sent). */
  message: Message
  /** Every other event (`session`, `read`, `typing` from the other side, …). */
  event: OtherEvent
  /** A resume finished and nothing is missing any more. */
  synced: void
  /** An error frame about no send of ours (a refused `read`, `typing`, …). */
  error: ErrorFrame
  /** The sign-in is over (`token_revoked`, `token_expired`, …): sign in again. */
  signedOut: string
}

type Handler<T> = (value: T) => void

interface PendingSend {
  frame: SendFrame
  resolve: (ack: Ack) => void
  reject: (error: SendRefused) => void
  retryTimer: ReturnType<typeof setTimeout> | null
}

export class FeigeSocket {
  state: ConnectionState = 'stopped'
  principal: Principal | null = null

  private readonly options: SocketOptions
  private ws: WebSocketLike | null = null
  private readonly handlers = new Map<keyof SocketEvents, Set<Handler<never>>>()
  /** Per session, the highest sequence number delivered (or covered by history). */
  private readonly lastSeq = new Map<number, number>()
  /** Per session, the sequence number live delivery started after (see `historyBefore`). */
  private readonly baseline = new Map<number, number>()
  /** Sends not yet acknowledged, in the order they were made. */
  private readonly outbox = new Map<string, PendingSend>()
  private readonly unsentReads = new Map<number, number>()
  /** Sessions whose missing messages must be asked for. */
  private readonly wanted = new Set<number>()
  private resumeAsked: number[] | null = null
  private attempts = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private resyncTimer: ReturnType<typeof setTimeout> | null = null
  private lastResyncAt = -Infinity
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null
  private lastFrameAt = 0
  private lastErrorCode = ''
  private idCounter = 0
  private readonly idPrefix: string

  constructor(options: SocketOptions) {
    this.options = options
    const random = options.random ?? Math.random
    this.idPrefix = `w${Date.now().toString(36)}${Math.floor(random() * 1e9).toString(36)}`
  }

  // --- lifecycle --------------------------------------------------------------------------

  start(): void {
    if (this.state !== 'stopped' && this.state !== 'signed_out') return
    this.attempts = 0
    globalThis.addEventListener?.('online', this.onOnline)
    this.connect()
  }

  /** Closes for good (signing out): unacknowledged sends are refused with `stopped`. */
  stop(): void {
    this.setState('stopped')
    globalThis.removeEventListener?.('online', this.onOnline)
    this.clearTimers()
    const ws = this.ws
    this.ws = null
    ws?.close(1000, 'bye')
    for (const pending of this.outbox.values()) {
      if (pending.retryTimer) clearTimeout(pending.retryTimer)
      pending.reject(new SendRefused('stopped', 'stopped'))
    }
    this.outbox.clear()
  }

  /** Skips the backoff wait (the browser says it is online again). */
  private readonly onOnline = (): void => this.reconnectNow()

  reconnectNow(): void {
    if (this.state !== 'waiting') return
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.connect()
  }

  on<K extends keyof SocketEvents>(name: K, handler: Handler<SocketEvents[K]>): () => void {
    let set = this.handlers.get(name)
    if (!set) {
      set = new Set()
      this.handlers.set(name, set)
    }
    set.add(handler as Handler<never>)
    return () => set.delete(handler as Handler<never>)
  }

  // --- what a face calls ------------------------------------------------------------------

  /** Sends a message; resolves with the server's ack once it is stored. Survives reconnects:
   * the same `client_id` is sent again until acknowledged, and never stored twice. */
  send(
    target: SendTarget,
    kind: MessageKind,
    content: Record<string, unknown>,
  ): { clientId: string; acked: Promise<Ack> } {
    const clientId = this.newClientId()
    const frame: SendFrame = { op: 'send', client_id: clientId, kind, content, ...target }
    const acked = new Promise<Ack>((resolve, reject) => {
      this.outbox.set(clientId, { frame, resolve, reject, retryTimer: null })
    })
    if (this.state === 'open') this.transmit(frame)
    return { clientId, acked }
  }

  /** The caller has seen the session up to `seq` (sent now, or when next connected). */
  read(sessionId: number, seq: number): void {
    if (this.state === 'open') this.transmit({ op: 'read', session_id: sessionId, seq })
    else this.unsentReads.set(sessionId, Math.max(seq, this.unsentReads.get(sessionId) ?? 0))
  }

  typing(sessionId: number): void {
    if (this.state === 'open') this.transmit({ op: 'typing', session_id: sessionId })
  }

  /** Messages of this session below this sequence number come from REST history
   * (`GET /api/sessions/{id}/messages?before_seq=`); the socket delivers the rest. */
  historyBefore(sessionId: number): number {
    return (this.baseline.get(sessionId) ?? 0) + 1
  }

  lastSeqOf(sessionId: number): number {
    return this.lastSeq.get(sessionId) ?? 0
  }

  get unacknowledged(): number {
    return this.outbox.size
  }

  // --- connection -------------------------------------------------------------------------

  private connect(): void {
    const token = this.options.token()
    if (!token) {
      this.signOut('unauthenticated')
      return
    }
    this.setState('connecting')
    const ws = (this.options.createSocket ?? defaultSocket)(this.options.url ?? defaultUrl())
    this.ws = ws
    ws.onopen = () => {
      if (ws !== this.ws) return
      this.lastErrorCode = ''
      this.wanted.clear()
      for (const sessionId of this.lastSeq.keys()) this.wanted.add(sessionId)
      const resume = this.takeResumeChunk()
      this.transmit({ op: 'auth', token, lang: this.options.locale(), resume })
    }
    ws.onmessage = (event) => {
      if (ws !== this.ws) return
      this.lastFrameAt = Date.now()
      if (typeof event.data !== 'string') return
      let parsed: unknown
      try {
        parsed = JSON.parse(event.data)
      } catch {
        return
      }
      for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
        this.handle(frame as ServerFrame)
      }
    }
    ws.onclose = (event) => {
      if (ws !== this.ws) return
      this.ws = null
      this.closed(event.code)
    }
    ws.onerror = () => {
      // onclose follows and decides
    }
  }

  private closed(code: number): void {
    this.clearTimers()
    this.resumeAsked = null
    if (this.state === 'stopped') return
    if (code === CLOSE_SIGNED_OUT) {
      this.signOut(this.lastErrorCode || 'token_revoked')
      return
    }
    this.setState('waiting')
    const { initial, max } = this.options.backoffMs ?? { initial: 500, max: 30_000 }
    const random = this.options.random ?? Math.random
    // A connection closed for falling behind reconnects at once; one too many waits longer.
    const floor = code === CLOSE_TOO_MANY_SOCKETS ? 5 : 0
    const attempt = Math.max(this.attempts, floor)
    const delay =
      code === CLOSE_TOO_SLOW && this.attempts === 0
        ? 0
        : Math.min(max, initial * 2 ** attempt) * (0.5 + random() / 2)
    this.attempts += 1
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.connect()
    }, delay)
  }

  private signOut(code: string): void {
    this.clearTimers()
    this.setState('signed_out')
    this.emit('signedOut', code)
  }

  private handle(frame: ServerFrame): void {
    switch (frame.op) {
      case 'ready':
        this.onReady(frame)
        break
      case 'ack':
        this.onAck(frame)
        break
      case 'event':
        if (frame.type === 'message') this.ingest(frame.message)
        else if (frame.type === 'resync') this.onResync()
        else if (frame.type === 'typing' && this.isMe(frame.who, frame.id)) return
        else this.emit('event', frame)
        break
      case 'resumed':
        this.onResumed(frame.more)
        break
      case 'error':
        this.onError(frame)
        break
      case 'pong':
        break
    }
  }

  private onReady(ready: Ready): void {
    this.principal = ready.principal
    this.attempts = 0
    for (const session of ready.sessions) {
      // A session not seen before: what it holds so far is history (REST); the socket
      // delivers from here on.
      if (!this.lastSeq.has(session.id)) {
        this.lastSeq.set(session.id, session.last_seq)
        this.baseline.set(session.id, session.last_seq)
      }
    }
    this.setState('open')
    this.startHeartbeat(ready.heartbeat)
    this.emit('ready', ready)
    this.emit('refetch', 'connected')
    for (const pending of this.outbox.values()) {
      if (!pending.retryTimer) this.transmit(pending.frame)
    }
    for (const [sessionId, seq] of this.unsentReads) {
      this.transmit({ op: 'read', session_id: sessionId, seq })
    }
    this.unsentReads.clear()
  }

  /** Events may have been lost between the server's nodes: the pages fetch their state
   * again. Nothing about messages changes (the server fills their gaps by `seq`), the socket
   * stays. A resync soon after another is folded into one refetch at the end of the window. */
  private onResync(): void {
    if (this.resyncTimer) return
    const wait = this.lastResyncAt + RESYNC_COALESCE_MS - Date.now()
    if (wait <= 0) {
      this.lastResyncAt = Date.now()
      this.emit('refetch', 'resync')
      return
    }
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null
      this.lastResyncAt = Date.now()
      if (this.state === 'open') this.emit('refetch', 'resync')
    }, wait)
  }

  private onAck(ack: Ack): void {
    const pending = this.outbox.get(ack.client_id)
    if (ack.message) this.ingest(ack.message)
    if (!pending) return
    this.outbox.delete(ack.client_id)
    pending.resolve(ack)
  }

  private onError(error: ErrorFrame): void {
    this.lastErrorCode = error.code
    const pending = error.for === 'send' && error.ref ? this.outbox.get(error.ref) : undefined
    if (!pending) {
      this.emit('error', error)
      return
    }
    if (error.code === 'rate_limited') {
      // Nothing was stored: the same client_id goes again after the wait.
      const wait = Math.max(1, error.retry_after ?? 1) * 1000
      pending.retryTimer = setTimeout(() => {
        pending.retryTimer = null
        if (this.state === 'open' && this.outbox.has(pending.frame.client_id)) {
          this.transmit(pending.frame)
        }
      }, wait)
      return
    }
    this.outbox.delete(pending.frame.client_id)
    pending.reject(new SendRefused(error.code, error.message, error.params ?? {}))
  }

  // --- ordering and resume (docs/protocol.md §5) ------------------------------------------

  /** Delivers a message if it is the next one of its session; drops what the client has;
   * on a gap, drops it and asks for everything after what it has (the reply brings it). */
  private ingest(message: Message): void {
    const have = this.lastSeq.get(message.session_id) ?? 0
    if (message.seq <= have) return
    if (message.seq > have + 1) {
      this.wanted.add(message.session_id)
      if (!this.lastSeq.has(message.session_id)) this.lastSeq.set(message.session_id, 0)
      this.askResume()
      return
    }
    this.lastSeq.set(message.session_id, message.seq)
    this.emit('message', message)
  }

  private askResume(): void {
    if (this.resumeAsked !== null || this.state !== 'open' || this.wanted.size === 0) return
    this.transmit({ op: 'resume', resume: this.takeResumeChunk() })
  }

  /** Up to RESUME_MAX_SESSIONS of the wanted sessions, as a resume map; remembered until
   * the `resumed` that answers it. */
  private takeResumeChunk(): Record<string, number> {
    const asked = [...this.wanted].slice(0, RESUME_MAX_SESSIONS)
    const resume: Record<string, number> = {}
    for (const sessionId of asked) {
      this.wanted.delete(sessionId)
      resume[String(sessionId)] = this.lastSeq.get(sessionId) ?? 0
    }
    this.resumeAsked = asked
    return resume
  }

  private onResumed(more: boolean): void {
    const asked = this.resumeAsked ?? []
    this.resumeAsked = null
    if (more) for (const sessionId of asked) this.wanted.add(sessionId)
    if (this.wanted.size > 0) this.askResume()
    else this.emit('synced', undefined)
  }

  // --- plumbing ---------------------------------------------------------------------------

  private startHeartbeat(seconds: number): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    const period = Math.max(1, seconds) * 1000
    this.heartbeatTimer = setInterval(() => {
      // No frame (not even the last pong) for two periods: the connection is dead without
      // having said so; close it and reconnect.
      if (Date.now() - this.lastFrameAt > 2 * period) {
        const ws = this.ws
        this.ws = null
        ws?.close(4000, 'no heartbeat')
        this.closed(1006)
        return
      }
      this.transmit({ op: 'ping' })
    }, period)
  }

  private clearTimers(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.resyncTimer) clearTimeout(this.resyncTimer)
    this.heartbeatTimer = null
    this.reconnectTimer = null
    this.resyncTimer = null
  }

  private transmit(frame: object): void {
    this.ws?.send(JSON.stringify(frame))
  }

  private isMe(who: 'consumer' | 'member', id: number): boolean {
    const me = this.principal
    return me !== null && me.id === id && (me.kind === 'consumer') === (who === 'consumer')
  }

  private newClientId(): string {
    this.idCounter += 1
    return `${this.idPrefix}-${this.idCounter.toString(36)}`
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return
    this.state = state
    this.emit('state', state)
  }

  private emit<K extends keyof SocketEvents>(name: K, value: SocketEvents[K]): void {
    for (const handler of this.handlers.get(name) ?? []) {
      ;(handler as Handler<SocketEvents[K]>)(value)
    }
  }
}

function defaultUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${window.location.host}/ws`
}

function defaultSocket(url: string): WebSocketLike {
  return new WebSocket(url) as unknown as WebSocketLike
}

// The workbench's live state: every open session the agent may see, their messages (a tail
// at first, older pages on demand), sends in flight, and what the socket says. One instance
// per mounted workbench; the components only read it and call its actions.

import { markRaw, reactive, ref, shallowReactive } from 'vue'

import { api } from '@/api'
import { ApiError } from '@/protocol/rest'
import { SendRefused, type FeigeSocket } from '@/protocol/socket'
import { mergeSession, SessionVersions } from '@/protocol/versions'
import type {
  Message,
  MessageKind,
  Principal,
  RestrictedFeature,
  Session,
  ShopRestrictions,
  Suggestion,
} from '@/protocol/types'

import { calls, type AgentStatus, type ListedSession } from './calls'
import { groupOf, unreadCount, waitingSince } from './cues'
import { holdsOfRestrictions, holdsOfStanding, type FeatureHolds } from './holds'

/** Messages fetched per history page (REST), and the tail loaded for every listed session. */
export { holdsOfRestrictions, holdsOfStanding, type FeatureHolds }

export const PAGE = 50
const TAIL = 20
const TAIL_FETCHES_AT_ONCE = 6

export interface PendingSend {
  clientId: string
  kind: MessageKind
  content: Record<string, unknown>
  at: number
}

export interface Refusal {
  code: string
  message: string
  clauses: string
  /** The error's parameters (`feature_restricted`: `feature`, `until`). */
  params?: Record<string, unknown>
}

export interface Conversation {
  session: ListedSession
  /** Oldest first, without gaps, ending at the newest message delivered. */
  messages: Message[]
  pending: PendingSend[]
  /** How many of the newest messages the chat pane renders (grows as the agent scrolls up). */
  shown: number
  olderLoading: boolean
  draft: string
  refusal: Refusal | null
  typingUntil: number
  /** The assist robot's suggestions for the buyer's latest text, until someone answers it. */
  suggestions: { seq: number; items: Suggestion[] } | null
}

export type NewSessionKind = 'assigned' | 'waiting'

export interface ModelHooks {
  /** A session arrived for this agent (assigned to it) or for anyone (waiting). */
  onNewSession?: (conversation: Conversation, kind: NewSessionKind) => void
  onError?: (error: unknown) => void
}

export class WorkbenchModel {
  readonly conversations = shallowReactive(new Map<number, Conversation>())
  readonly activeId = ref<number | null>(null)
  readonly status = ref<AgentStatus | null>(null)
  readonly synced = ref(false)
  /** Images and cards the shop may not send now (docs/enforcement.md, "restriction"). */
  readonly featureHolds = ref<FeatureHolds>({})
  /** What restricts the shop now, with the measures' causes (every member reads it). */
  readonly restrictions = ref<ShopRestrictions | null>(null)

  private readonly socket: FeigeSocket
  private readonly me: Principal
  private readonly hooks: ModelHooks
  private readonly loadingTails = new Set<number>()
  private tailQueue: number[] = []
  private tailsRunning = 0
  private readonly versions = new SessionVersions()

  constructor(socket: FeigeSocket, me: Principal, hooks: ModelHooks = {}) {
    this.socket = socket
    this.me = me
    this.hooks = hooks
    // After a reconnect, or a resync (events lost between the server's nodes): the sessions,
    // the shop's restrictions and the agent's own status as they are now.
    socket.on('refetch', (cause) => {
      void this.refresh()
      void this.loadStanding()
      if (cause === 'resync' && this.me.kind === 'member') void this.loadOwnStatus()
    })
    socket.on('message', (message) => this.onMessage(message))
    socket.on('synced', () => (this.synced.value = true))
    socket.on('event', (event) => {
      switch (event.type) {
        case 'session':
          this.onSession(event.change, event.session)
          break
        case 'waiting_removed':
          this.onWaitingRemoved(event.session_id)
          break
        case 'read':
          this.onRead(event.session_id, event.reader, event.seq)
          break
        case 'typing':
          if (event.who === 'consumer') this.onTyping(event.session_id)
          break
        case 'agent_status':
          if (event.agent_id === this.me.id) this.status.value = event.status
          break
        case 'recalled':
          this.onRecalled(event.message)
          break
        case 'restrictions':
          // A measure started, ended or was reversed: every member hears what holds now.
          this.applyRestrictions(event.restrictions)
          break
        case 'suggestions':
          this.onSuggestions(event.session_id, event.seq, event.suggestions)
          break
      }
    })
  }

  get isSupervisor(): boolean {
    return this.me.role === 'owner' || this.me.role === 'manager'
  }

  get active(): Conversation | null {
    const id = this.activeId.value
    return id === null ? null : (this.conversations.get(id) ?? null)
  }

  isMine(session: Session): boolean {
    return session.state === 'assigned' && session.agent_id === this.me.id
  }

  // --- loading ------------------------------------------------------------------------------

  /** After every (re)connection: the open sessions as the server has them now. */
  async refresh(): Promise<void> {
    try {
      const listed: ListedSession[] = []
      let page = await calls.openSessions()
      listed.push(...page)
      while (page.length === 200) {
        page = await calls.openSessions(page[page.length - 1].id)
        listed.push(...page)
      }
      const open = new Set(listed.map((session) => session.id))
      for (const session of listed) if (this.versions.take(session)) this.upsert(session)
      // Sessions that closed or moved away while the connection was down.
      for (const [id, conversation] of this.conversations) {
        if (!open.has(id) && conversation.session.state !== 'closed') this.forget(id)
      }
    } catch (error) {
      this.hooks.onError?.(error)
    }
  }

  private upsert(session: ListedSession): Conversation {
    const known = this.conversations.get(session.id)
    if (known) {
      known.session = mergeSession(known.session, session)
      return known
    }
    const conversation = reactive({
      session,
      messages: shallowReactive<Message[]>([]),
      pending: [],
      shown: PAGE,
      olderLoading: false,
      draft: '',
      refusal: null,
      typingUntil: 0,
      suggestions: null,
    }) as Conversation
    this.conversations.set(session.id, conversation)
    this.queueTail(session.id)
    return conversation
  }

  private forget(id: number): void {
    this.conversations.delete(id)
    if (this.activeId.value === id) this.activeId.value = null
  }

  /** The newest messages below where socket delivery began, for the cues and the pane. */
  private queueTail(id: number): void {
    if (this.socket.historyBefore(id) <= 1 || this.loadingTails.has(id)) return
    this.loadingTails.add(id)
    this.tailQueue.push(id)
    this.pumpTails()
  }

  private pumpTails(): void {
    while (this.tailsRunning < TAIL_FETCHES_AT_ONCE && this.tailQueue.length > 0) {
      const id = this.tailQueue.shift() as number
      this.tailsRunning += 1
      this.loadOlder(id, TAIL).finally(() => {
        this.tailsRunning -= 1
        this.loadingTails.delete(id)
        this.pumpTails()
      })
    }
  }

  /** Whether older messages exist beyond those held. */
  hasOlder(conversation: Conversation): boolean {
    const first = conversation.messages[0]
    const floor = first ? first.seq : this.socket.historyBefore(conversation.session.id)
    return floor > 1
  }

  /** One page of older history (REST), put before what is held. */
  async loadOlder(id: number, limit = PAGE): Promise<number> {
    const conversation = this.conversations.get(id)
    if (!conversation || conversation.olderLoading || !this.hasOlder(conversation)) return 0
    conversation.olderLoading = true
    try {
      const first = conversation.messages[0]
      const before = first ? first.seq : this.socket.historyBefore(id)
      const page = await api.messages(id, { before_seq: before, limit })
      const current = conversation.messages[0]
      const fresh = page.filter((m) => !current || m.seq < current.seq).map((m) => markRaw(m))
      conversation.messages.unshift(...fresh)
      if (id === this.activeId.value) this.markRead()
      return fresh.length
    } catch (error) {
      this.hooks.onError?.(error)
      return 0
    } finally {
      conversation.olderLoading = false
    }
  }

  /** The pane shows `shown` newest messages; more come from memory first, then REST. */
  async showMore(id: number): Promise<boolean> {
    const conversation = this.conversations.get(id)
    if (!conversation) return false
    if (conversation.shown < conversation.messages.length) {
      conversation.shown += PAGE
      return true
    }
    const added = await this.loadOlder(id)
    conversation.shown += added
    return added > 0
  }

  // --- socket -------------------------------------------------------------------------------

  private onMessage(message: Message): void {
    let conversation = this.conversations.get(message.session_id)
    if (!conversation) {
      // A session this list does not hold yet: its session event is on its way, or it
      // must be fetched.
      void this.fetchSession(message.session_id)
      conversation = this.conversations.get(message.session_id)
      if (!conversation) {
        this.orphans.push(message)
        return
      }
    }
    this.append(conversation, message)
  }

  private readonly orphans: Message[] = []

  private onSuggestions(id: number, seq: number, items: Suggestion[]): void {
    const conversation = this.conversations.get(id)
    if (!conversation || (conversation.suggestions && conversation.suggestions.seq > seq)) return
    conversation.suggestions = { seq, items }
  }

  private append(conversation: Conversation, message: Message): void {
    conversation.messages.push(markRaw(message))
    conversation.shown += 1
    conversation.session.last_seq = Math.max(conversation.session.last_seq, message.seq)
    if (message.client_id) {
      const index = conversation.pending.findIndex((p) => p.clientId === message.client_id)
      if (index >= 0) conversation.pending.splice(index, 1)
    }
    if (message.sender_role === 'buyer') conversation.typingUntil = 0
    if (message.sender_role === 'agent' || message.sender_role === 'robot_assist') conversation.suggestions = null
    if (conversation.session.id === this.activeId.value) this.markRead()
  }

  private async fetchSession(id: number): Promise<void> {
    try {
      const session = await api.session(id)
      this.adopt(session)
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) this.hooks.onError?.(error)
    }
  }

  /** A session that has become visible: hold it, and deliver messages that came first. */
  private adopt(session: ListedSession): Conversation {
    const conversation = this.upsert(session)
    const waiting = this.orphans.filter((m) => m.session_id === session.id)
    if (waiting.length > 0) {
      this.orphans.splice(0, this.orphans.length, ...this.orphans.filter((m) => m.session_id !== session.id))
      for (const message of waiting) this.append(conversation, message)
    }
    return conversation
  }

  private onSession(change: string, session: Session): void {
    if (!this.versions.take(session)) return // an older view, heard after a newer one
    const known = this.conversations.get(session.id)
    const wasMine = known ? this.isMine(known.session) : false
    const wasWaiting = known ? groupOf(known.session) !== 'mine' : false
    const visible =
      this.isSupervisor || this.isMine(session) || session.state === 'queued' || session.state === 'offline'
    if (!visible && session.state !== 'closed') {
      // Transferred to a colleague, taken by another: no longer this agent's.
      if (known) this.forget(session.id)
      return
    }
    if (session.state === 'closed') {
      if (known) {
        known.session = mergeSession(known.session, session)
        if (this.activeId.value !== session.id) this.forget(session.id)
      }
      return
    }
    const conversation = known ?? this.adopt(session)
    if (known) known.session = mergeSession(known.session, session)
    if (!known && !conversation.session.consumer_nickname) void this.fetchNickname(conversation)
    if (this.isMine(session) && !wasMine) this.hooks.onNewSession?.(conversation, 'assigned')
    else if (!known && (change === 'queued' || change === 'offline')) {
      this.hooks.onNewSession?.(conversation, 'waiting')
    } else if (known && !wasWaiting && groupOf(session) !== 'mine') {
      this.hooks.onNewSession?.(conversation, 'waiting')
    }
  }

  /** Session events carry no nickname: the listing has it. */
  private async fetchNickname(conversation: Conversation): Promise<void> {
    try {
      const page = await calls.openSessions(conversation.session.id + 1)
      const listed = page.find((s) => s.id === conversation.session.id)
      if (listed?.consumer_nickname) conversation.session.consumer_nickname = listed.consumer_nickname
    } catch {
      // the list shows the consumer's number instead
    }
  }

  private onWaitingRemoved(id: number): void {
    const known = this.conversations.get(id)
    if (known && !this.isMine(known.session) && !this.isSupervisor) this.forget(id)
  }

  private onRead(id: number, reader: 'consumer' | 'member', seq: number): void {
    const known = this.conversations.get(id)
    if (!known) return
    if (reader === 'consumer') known.session.consumer_read_seq = Math.max(known.session.consumer_read_seq, seq)
    else known.session.agent_read_seq = Math.max(known.session.agent_read_seq, seq)
  }

  /** A message recalled for a violation: shown as the notice from now on. */
  private onRecalled(message: Message): void {
    const known = this.conversations.get(message.session_id)
    if (!known) return
    const index = known.messages.findIndex((m) => m.seq === message.seq)
    if (index >= 0) known.messages.splice(index, 1, markRaw(message))
  }

  /** What the shop may not send now: every member reads it (`/api/enforcement/restrictions`)
   * on connecting, then hears each change live (`restrictions`); a refused send
   * (`feature_restricted`) still updates it. */
  async loadStanding(): Promise<void> {
    try {
      this.applyRestrictions(await api.request<ShopRestrictions>('GET', '/api/enforcement/restrictions'))
    } catch {
      // The buttons stay as they are; a refused send still says why.
    }
  }

  private applyRestrictions(restrictions: ShopRestrictions): void {
    this.restrictions.value = restrictions
    this.setHolds(holdsOfRestrictions(restrictions))
  }

  private holdTimer: ReturnType<typeof setTimeout> | null = null

  /** Keeps the holds still in effect, and lets each go by itself when it ends. */
  private setHolds(holds: FeatureHolds): void {
    const now = Date.now()
    const kept: FeatureHolds = {}
    for (const [feature, until] of Object.entries(holds) as [RestrictedFeature, number][]) {
      if (until > now) kept[feature] = until
    }
    this.featureHolds.value = kept
    if (this.holdTimer) clearTimeout(this.holdTimer)
    const next = Math.min(...Object.values(kept))
    if (Number.isFinite(next)) {
      this.holdTimer = setTimeout(() => this.setHolds(this.featureHolds.value), Math.min(next - now + 50, 2 ** 31 - 1))
    }
  }

  /** The reason a feature is held now (its end passed: no longer held), or null. */
  featureHeldUntil(feature: RestrictedFeature): number | null {
    const until = this.featureHolds.value[feature]
    return until !== undefined && until > Date.now() ? until : null
  }

  private onTyping(id: number): void {
    const known = this.conversations.get(id)
    if (known) known.typingUntil = Date.now() + 5000
  }

  // --- actions ------------------------------------------------------------------------------

  select(id: number | null): void {
    this.activeId.value = id
    const conversation = this.active
    if (!conversation) return
    conversation.shown = PAGE
    if (conversation.messages.length === 0) void this.loadOlder(id as number)
    this.markRead()
  }

  /** Reads the active session up to its newest message while the page is in view. */
  markRead(): void {
    const conversation = this.active
    if (!conversation || document.visibilityState !== 'visible') return
    const last = conversation.messages[conversation.messages.length - 1]
    if (!last || last.seq <= conversation.session.agent_read_seq) return
    if (!this.isMine(conversation.session)) return
    conversation.session.agent_read_seq = last.seq
    this.socket.read(conversation.session.id, last.seq)
  }

  unread(conversation: Conversation): number {
    return unreadCount(conversation.session, conversation.messages)
  }

  waitingSince(conversation: Conversation): number | null {
    return waitingSince(conversation.session, conversation.messages)
  }

  /** Sends on the socket (resent after reconnects until acknowledged). A refusal puts the
   * text back in the input box and keeps the server's reason (the clause) beside it. */
  send(id: number, kind: MessageKind, content: Record<string, unknown>, suggestion?: string): void {
    const conversation = this.conversations.get(id)
    if (!conversation) return
    conversation.refusal = null
    const target = suggestion ? { session_id: id, suggestion } : { session_id: id }
    const { clientId, acked } = this.socket.send(target, kind, content)
    conversation.pending.push({ clientId, kind, content, at: Date.now() / 1000 })
    acked.catch((error: unknown) => {
      const index = conversation.pending.findIndex((p) => p.clientId === clientId)
      if (index >= 0) conversation.pending.splice(index, 1)
      if (!(error instanceof SendRefused) || error.code === 'stopped') return
      conversation.refusal = {
        code: error.code,
        message: error.message,
        clauses: String(error.params.clauses ?? ''),
        params: error.params,
      }
      if (error.code === 'feature_restricted') {
        const feature = error.params.feature as RestrictedFeature
        const until = Date.parse(String(error.params.until ?? ''))
        if (!Number.isNaN(until)) this.setHolds({ ...this.featureHolds.value, [feature]: until })
      }
      if (kind === 'text') {
        const text = String(content.text ?? '')
        conversation.draft = conversation.draft ? `${text}\n${conversation.draft}` : text
      }
    })
  }

  /** One click: the suggestion's answer goes out as the agent's text, marked as from it. */
  sendSuggestion(id: number, suggestion: Suggestion): void {
    const conversation = this.conversations.get(id)
    if (!conversation) return
    conversation.suggestions = null
    this.send(id, 'text', { text: suggestion.answer }, suggestion.question)
  }

  setDraft(id: number, text: string): void {
    const conversation = this.conversations.get(id)
    if (conversation) conversation.draft = text
  }

  dismissRefusal(id: number): void {
    const conversation = this.conversations.get(id)
    if (conversation) conversation.refusal = null
  }

  typing(id: number): void {
    this.socket.typing(id)
  }

  async take(id: number): Promise<void> {
    const session = await calls.take(id)
    const known = this.conversations.get(id)
    if (known) known.session = mergeSession(known.session, session)
    this.select(id)
  }

  async setStatus(status: AgentStatus): Promise<void> {
    const result = await calls.setStatus(status)
    this.status.value = result.status
  }

  async loadOwnStatus(): Promise<void> {
    try {
      const members = await calls.colleagues()
      const me = members.find((member) => member.id === this.me.id)
      if (me) this.status.value = me.status
    } catch (error) {
      this.hooks.onError?.(error)
    }
  }
}

// The consumer's conversation with one shop: its sessions, their messages, the messages
// being sent, the other side's typing and read receipts, wired to the protocol client.
// The socket delivers each stored message once and in order; this keeps them by
// (session, seq), so REST history and live delivery can overlap without doubling anything.

import { computed, reactive, ref } from 'vue'

import { api } from '@/api'
import { ApiError } from '@/protocol/rest'
import { SendRefused, type ConnectionState, type FeigeSocket } from '@/protocol/socket'
import { mergeSession, SessionVersions } from '@/protocol/versions'
import type { Card, ConsumerStanding, Message, MessageKind, SendTarget, Session, ShopCard } from '@/protocol/types'

import { rememberLocalImage } from '@/components/chat/localImages'

import { cardContent, type ChatEntry } from './entry'
import { holdOfRefusal, holdOfStanding, type AccountHold } from './standing'
import {
  buildItems,
  insertMessage,
  openSession,
  replaceMessage,
  settlePending,
  type PendingMessage,
} from './timeline'

/** A consumer has few sessions with one shop: this many earlier ones are offered. */
export { holdOfRefusal, holdOfStanding, type AccountHold }

const EARLIER_LIMIT = 100
const HISTORY_PAGE = 500
/** How often the header asks again whether anyone at the shop is online. */
const PRESENCE_EVERY_MS = 60_000
/** How long "typing…" shows after the last typing event (the other side repeats it). */
const TYPING_SHOWN_MS = 6000
/** The consumer's own typing goes out at most this often. */
const TYPING_EVERY_MS = 3000

export interface RoomCallbacks {
  /** A session of this shop closed while the window was open (ask for a rating). */
  onClosed?: (session: Session) => void
  /** A send was refused; `text` is what the consumer had typed (to give it back). */
  onRefused?: (pending: PendingMessage) => void
  /** The full-auto robot handed a session of this shop to a person. */
  onHandover?: (session: Session) => void
}

export function useChatRoom(socket: FeigeSocket, entry: ChatEntry, callbacks: RoomCallbacks = {}) {
  const shopId = ref<number | null>(entry.shopId)
  /** The shop's public card: its name, whether anyone answers, whether it is blocked. */
  const shop = ref<ShopCard | null>(null)
  /** Set while this window blocks the shop: the session closing then asks no rating. */
  let blocking = false
  const sessions = reactive<Record<number, Session>>({})
  const messages = reactive<Record<number, Message[]>>({})
  const pending = ref<PendingMessage[]>([])
  /** Sessions of the shop not shown yet, newest first ("查看更早的会话"). */
  const earlier = ref<Session[]>([])
  const connection = ref<ConnectionState>(socket.state)
  const agentTyping = ref(false)
  const loading = ref(true)
  const loadError = ref<string | null>(null)
  const hold = ref<AccountHold | null>(null)
  let holdTimer: ReturnType<typeof setTimeout> | null = null
  let typingTimer: ReturnType<typeof setTimeout> | null = null
  let lastTypingSent = 0
  let readySeen = false
  const asked = new Set<number>()
  const versions = new SessionVersions()

  const shown = computed(() => Object.values(sessions))
  const current = computed(() => openSession(shown.value))
  /** The newest session, open or closed: what the rating is about. */
  const latest = computed(() =>
    shown.value.reduce<Session | null>((a, b) => (!a || b.id > a.id ? b : a), null),
  )
  const items = computed(() => buildItems(shown.value, messages, pending.value))

  // --- what arrives ------------------------------------------------------------------------

  function keep(message: Message): void {
    const list = messages[message.session_id] ?? (messages[message.session_id] = [])
    if (insertMessage(list, message)) {
      const session = sessions[message.session_id]
      if (session && message.seq > session.last_seq) session.last_seq = message.seq
      if (message.sender_role === 'buyer') {
        pending.value = settlePending(pending.value, messages)
      } else if (message.sender_role === 'agent') {
        agentTyping.value = false
      }
    }
  }

  /** False for an older view than one shown already (two nodes' events can cross). */
  function showSession(session: Session): boolean {
    if (!versions.take(session)) return false
    const known = sessions[session.id]
    if (known) Object.assign(known, mergeSession(known, session))
    else sessions[session.id] = { ...session }
    earlier.value = earlier.value.filter((s) => s.id !== session.id)
    return true
  }

  /** A message or event of a session this window has not seen: the consumer may have
   * other shops' sessions, so it is shown only when it is this shop's. */
  async function learn(sessionId: number): Promise<void> {
    if (sessions[sessionId] || asked.has(sessionId)) return
    asked.add(sessionId)
    try {
      const session = await api.session(sessionId)
      if (session.shop_id === shopId.value) showSession(session)
      else delete messages[sessionId]
    } catch {
      asked.delete(sessionId)
    }
  }

  socket.on('message', (message) => {
    keep(message)
    if (!sessions[message.session_id]) void learn(message.session_id)
    markRead()
  })
  socket.on('event', (event) => {
    if (event.type === 'session') {
      const before = sessions[event.session.id]
      if (event.session.shop_id !== shopId.value) return
      const wasOpen = before ? before.state !== 'closed' : true
      if (!showSession(event.session)) return
      if (event.change === 'closed' && wasOpen) {
        agentTyping.value = false
        if (!blocking && !shop.value?.blocked) callbacks.onClosed?.(sessions[event.session.id])
      }
      if (event.change !== 'queue') void refreshShop()
    } else if (event.type === 'handover') {
      if (event.session.shop_id !== shopId.value) return
      if (!showSession(event.session)) return
      callbacks.onHandover?.(sessions[event.session.id])
    } else if (event.type === 'read' && event.reader === 'member') {
      const session = sessions[event.session_id]
      if (session) session.agent_read_seq = Math.max(session.agent_read_seq, event.seq)
    } else if (event.type === 'recalled') {
      const list = messages[event.session_id]
      if (list) replaceMessage(list, event.message)
    } else if (event.type === 'account_restricted' && event.restriction.in_effect) {
      const ends = event.restriction.ends_at
      setHold({ kind: event.restriction.kind, until: ends === null ? null : ends * 1000 })
      void loadStanding() // why, and how to appeal
    } else if (event.type === 'account_restriction_lifted') {
      setHold(null)
    } else if (event.type === 'typing' && event.who === 'member') {
      if (!sessions[event.session_id] || event.session_id !== current.value?.id) return
      agentTyping.value = true
      if (typingTimer) clearTimeout(typingTimer)
      typingTimer = setTimeout(() => (agentTyping.value = false), TYPING_SHOWN_MS)
    }
  })
  socket.on('state', (state) => (connection.value = state))
  socket.on('refetch', (cause) => {
    // On every (re)connect, and on a resync (events lost between the server's nodes): a
    // mute may have started or ended meanwhile, the shop's card changed.
    void loadStanding()
    if (cause === 'resync') void refreshShop()
    if (readySeen) return
    readySeen = true
    void load()
  })
  if (socket.state === 'open') {
    readySeen = true
    void loadStanding()
    void load()
  }

  /** The account's own standing on opening the window: muted or banned, why, how to appeal
   * (the same banner a refused send shows). */
  async function loadStanding(): Promise<void> {
    try {
      setHold(holdOfStanding(await api.request<ConsumerStanding>('GET', '/api/me/standing')))
    } catch {
      // The banner stays as it is; a refused send still says why.
    }
  }

  // --- history -----------------------------------------------------------------------------

  /** Every message of a session below `before` (REST), oldest first. */
  async function fetchHistory(sessionId: number, before: number | null): Promise<void> {
    let after = 0
    for (;;) {
      const page = await api.messages(sessionId, {
        after_seq: after,
        before_seq: before ?? undefined,
        limit: HISTORY_PAGE,
      })
      for (const message of page) keep(message)
      if (page.length < HISTORY_PAGE) return
      after = page[page.length - 1].seq
    }
  }

  /** The shop's card again (is anyone online?); a failure keeps the last one. */
  async function refreshShop(): Promise<void> {
    if (shopId.value === null) return
    try {
      shop.value = await api.shop(shopId.value)
    } catch {
      // The header keeps what it showed; the next refresh tries again.
    }
  }
  const presenceTimer = setInterval(() => void refreshShop(), PRESENCE_EVERY_MS)

  /** After the socket's first `ready` (so history and live delivery meet without a gap):
   * the shop's card names the consumer's newest session there (open, or the last closed
   * one), which is shown; the earlier ones come from `…/earlier`, on demand. */
  async function load(): Promise<void> {
    loading.value = true
    loadError.value = null
    try {
      if (shopId.value === null) {
        const mine = await api.sessions({ limit: 1 })
        shopId.value = mine[0]?.shop_id ?? null
      }
      if (shopId.value === null) return
      shop.value = await api.shop(shopId.value)
      const latestId = shop.value.last_session_id
      if (latestId) {
        const [newest, before] = await Promise.all([
          api.session(latestId),
          api.earlier(latestId, EARLIER_LIMIT),
        ])
        earlier.value = before.filter((session) => !sessions[session.id])
        await reveal(newest)
      }
      markRead()
    } catch (error) {
      loadError.value = error instanceof ApiError ? error.message : String(error)
    } finally {
      loading.value = false
    }
  }

  async function reveal(session: Session): Promise<void> {
    showSession(session)
    const before = session.state === 'closed' ? null : socket.historyBefore(session.id)
    await fetchHistory(session.id, before)
  }

  /** The next earlier session with this shop, above what is shown. */
  async function showEarlier(): Promise<void> {
    const next = earlier.value[0]
    if (next) await reveal(next)
  }

  // --- what the consumer does --------------------------------------------------------------

  function target(): SendTarget | null {
    const open = current.value
    if (open) return { session_id: open.id }
    if (shopId.value === null) return null
    const opening: SendTarget = { shop_id: shopId.value, entry: entry.entry }
    if (entry.card) opening.entry_card = entry.card
    return opening
  }

  /** Holds the composer while the account is muted or banned; a mute lets go by itself. */
  function setHold(next: AccountHold | null): void {
    if (holdTimer) clearTimeout(holdTimer)
    holdTimer = null
    hold.value = next
    if (next?.until) {
      // setTimeout's limit is about 24.8 days; a longer mute is re-checked on the next send.
      const left = Math.min(next.until - Date.now(), 2 ** 31 - 1)
      holdTimer = setTimeout(() => (hold.value = null), Math.max(left, 0))
    }
  }

  function track(item: PendingMessage, acked: Promise<unknown>): void {
    acked.catch((error: unknown) => {
      if (error instanceof SendRefused && error.code === 'stopped') return
      const held = error instanceof SendRefused ? holdOfRefusal(error.code, error.params) : null
      if (held) {
        // The account is held: the banner says why; the words go back to the input box.
        setHold(held)
        discard(item)
        callbacks.onRefused?.(item)
        return
      }
      const refused =
        error instanceof SendRefused
          ? { code: error.code, message: error.message }
          : { code: 'unknown', message: String(error) }
      fail(item, refused)
    })
  }

  function fail(item: PendingMessage, error: { code: string; message: string }): void {
    const found = pending.value.find((p) => p.clientId === item.clientId)
    if (!found) return
    found.state = 'failed'
    found.error = error
    callbacks.onRefused?.(found)
  }

  function send(kind: MessageKind, content: Record<string, unknown>): void {
    const where = target()
    if (!where) return
    const { clientId, acked } = socket.send(where, kind, content)
    const item: PendingMessage = { clientId, kind, content, state: 'sending', progress: 1, createdAt: Date.now() / 1000 }
    pending.value = [...pending.value, item]
    track(item, acked)
  }

  function sendText(text: string): void {
    send('text', { text })
  }

  function sendCard(card: Card): void {
    send(card.kind === 'order_card' ? 'order_card' : 'product_card', cardContent(card))
  }

  /** Uploads into the open session, or, as the first message, to the shop (the upload
   * opens the session), then sends the image message. */
  async function sendImage(file: File): Promise<void> {
    const open = current.value
    const toShop = shopId.value
    if (!open && toShop === null) return
    const previewUrl = URL.createObjectURL(file)
    const localId = `upload-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
    const item: PendingMessage = reactive({
      clientId: localId,
      kind: 'image',
      content: {},
      state: 'uploading',
      progress: 0,
      previewUrl,
      createdAt: Date.now() / 1000,
    })
    pending.value = [...pending.value, item]
    try {
      const progress = (fraction: number): void => {
        item.progress = fraction
      }
      const uploaded = open
        ? await api.uploadImage(open.id, file, progress)
        : await api.uploadImageToShop(toShop!, entry.entry, file, progress)
      const sessionId = open?.id ?? uploaded.session_id!
      rememberLocalImage(uploaded.id, previewUrl)
      if (!sessions[sessionId]) void learn(sessionId)
      const { clientId, acked } = socket.send({ session_id: sessionId }, 'image', {
        image_id: uploaded.id,
      })
      Object.assign(item, { clientId, state: 'sending', content: { image_id: uploaded.id } })
      track(item, acked)
    } catch (error) {
      const message = error instanceof ApiError ? error.message : String(error)
      fail(item, { code: error instanceof ApiError ? error.code : 'unknown', message })
    }
  }

  /** Sends a refused message again as a new message (a new client id). */
  function retry(item: PendingMessage): void {
    discard(item)
    if (item.kind !== 'image' || item.content.image_id) send(item.kind, item.content)
  }

  function discard(item: PendingMessage): void {
    pending.value = pending.value.filter((p) => p.clientId !== item.clientId)
  }

  function typing(): void {
    const open = current.value
    if (!open || Date.now() - lastTypingSent < TYPING_EVERY_MS) return
    lastTypingSent = Date.now()
    socket.typing(open.id)
  }

  /** Tells the shop what the consumer has seen, while the window is in view. */
  function markRead(): void {
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return
    for (const session of shown.value) {
      if (session.state === 'closed') continue
      const list = messages[session.id] ?? []
      const last = list[list.length - 1]?.seq ?? 0
      // Only what the shop said needs a receipt (the consumer's own messages need none).
      let incoming = 0
      for (const message of list) if (message.sender_role !== 'buyer') incoming = message.seq
      if (incoming > session.consumer_read_seq) {
        session.consumer_read_seq = last
        socket.read(session.id, last)
      }
    }
  }

  async function rate(sessionId: number, score: number): Promise<void> {
    const session = await api.request<Session>('POST', `/api/sessions/${sessionId}/rating`, {
      body: { score },
    })
    showSession(session)
  }

  /** The consumer presses 转人工 while the full-auto robot serves the session. */
  async function handover(sessionId: number): Promise<void> {
    const done = await api.request<{ session: Session }>('POST', `/api/sessions/${sessionId}/handover`)
    showSession(done.session)
  }

  async function report(sessionId: number, reason: string): Promise<void> {
    await api.request('POST', `/api/sessions/${sessionId}/report`, { body: { reason } })
  }

  /** The consumer blocks the shop (its open session closes, no rating is asked) or lifts
   * the block. */
  async function setBlocked(blocked: boolean): Promise<void> {
    if (shopId.value === null) return
    blocking = blocked
    try {
      await api.request(blocked ? 'POST' : 'DELETE', `/api/shops/${shopId.value}/block`)
      if (shop.value) shop.value.blocked = blocked
    } finally {
      blocking = false
    }
    await refreshShop()
  }

  function stop(): void {
    clearInterval(presenceTimer)
    if (holdTimer) clearTimeout(holdTimer)
  }

  return {
    shopId,
    shop,
    sessions,
    messages,
    pending,
    earlier,
    connection,
    agentTyping,
    loading,
    loadError,
    hold,
    current,
    latest,
    items,
    showEarlier,
    sendText,
    sendCard,
    sendImage,
    retry,
    discard,
    typing,
    markRead,
    rate,
    handover,
    report,
    setBlocked,
    stop,
  }
}

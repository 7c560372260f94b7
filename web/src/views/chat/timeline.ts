// What the chat window shows, as plain data: the stored messages of the sessions with one
// shop (each exactly once, in sequence order, whichever way it arrived: REST history, live
// event, resume, ack) and the consumer's messages still being sent. No Vue and no I/O here,
// so the rules that keep the list exact are unit-tested (timeline.test.ts).

import type { Message, MessageKind, Session } from '@/protocol/types'

/** A message of the consumer's that the server has not stored yet (or refused). */
export interface PendingMessage {
  clientId: string
  kind: MessageKind
  content: Record<string, unknown>
  /** `uploading`: an image on its way up; `sending`: waiting for the ack; `failed`: refused. */
  state: 'uploading' | 'sending' | 'failed'
  /** Upload progress, 0..1. */
  progress: number
  /** The picked image, shown while it uploads (an object URL). */
  previewUrl?: string
  error?: { code: string; message: string }
  createdAt: number
}

export type Item =
  | { type: 'session'; key: string; session: Session }
  | { type: 'time'; key: string; at: number }
  | { type: 'notice'; key: string; message: Message }
  | { type: 'message'; key: string; message: Message; mine: boolean; read: boolean }
  | { type: 'pending'; key: string; pending: PendingMessage }

/** A time line goes between messages more than this far apart (seconds). */
export const TIME_GAP = 5 * 60

/** Puts a message in its place (by `seq`) in a session's sorted list; false when the list
 * already has that `seq`. */
export function insertMessage(list: Message[], message: Message): boolean {
  let low = 0
  let high = list.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (list[middle].seq < message.seq) low = middle + 1
    else high = middle
  }
  if (list[low]?.seq === message.seq) return false
  list.splice(low, 0, message)
  return true
}

/** A stored message as it now is (a recall replaces its content by the notice): swapped in
 * at its `seq`; false when the list does not hold it (history will bring it as it is). */
export function replaceMessage(list: Message[], message: Message): boolean {
  const index = list.findIndex((known) => known.seq === message.seq)
  if (index < 0) return false
  list.splice(index, 1, message)
  return true
}

/** The consumer's own stored messages, by the `client_id` they were sent with. */
function storedClientIds(messages: Record<number, Message[]>): Set<string> {
  const ids = new Set<string>()
  for (const list of Object.values(messages)) {
    for (const message of list) {
      if (message.sender_role === 'buyer' && message.client_id) ids.add(message.client_id)
    }
  }
  return ids
}

/** Drops the pending messages the server has stored (their message is in the list now). */
export function settlePending(
  pending: PendingMessage[],
  messages: Record<number, Message[]>,
): PendingMessage[] {
  const stored = storedClientIds(messages)
  return pending.filter((item) => !stored.has(item.clientId))
}

/** The list the window renders: per session (oldest first) its start with the entry card,
 * its messages with a time line where the talk paused, then what is still being sent. */
export function buildItems(
  sessions: Session[],
  messages: Record<number, Message[]>,
  pending: PendingMessage[],
): Item[] {
  const items: Item[] = []
  for (const session of [...sessions].sort((a, b) => a.id - b.id)) {
    // The session's start line says when it began; a time line follows only a pause.
    items.push({ type: 'session', key: `s${session.id}`, session })
    let lastAt = session.opened_at
    for (const message of messages[session.id] ?? []) {
      if (message.created_at - lastAt > TIME_GAP) {
        items.push({ type: 'time', key: `t${message.id}`, at: message.created_at })
      }
      lastAt = message.created_at
      const key = `m${message.session_id}-${message.seq}`
      if (message.sender_role === 'system') {
        items.push({ type: 'notice', key, message })
      } else {
        const mine = message.sender_role === 'buyer'
        const read = mine && message.seq <= session.agent_read_seq
        items.push({ type: 'message', key, message, mine, read })
      }
    }
  }
  const stored = storedClientIds(messages)
  for (const item of pending) {
    if (!stored.has(item.clientId)) {
      items.push({ type: 'pending', key: `p${item.clientId}`, pending: item })
    }
  }
  return items
}

/** The session a new message goes to: the shop's newest one while it is open. */
export function openSession(sessions: Session[]): Session | null {
  let newest: Session | null = null
  for (const session of sessions) if (!newest || session.id > newest.id) newest = session
  return newest && newest.state !== 'closed' ? newest : null
}

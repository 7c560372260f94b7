// The workbench's pure rules: how long a buyer has waited, the colour cue for it, and the
// order of the session list. No Vue, no I/O: cues.test.ts checks them.

import type { Message, Session } from '@/protocol/types'

/** The cue thresholds in seconds (1, 2, 3, 5 and 10 minutes). 3 minutes is the 3-minute reply
 * standard and 10 minutes what an unanswered round counts as (docs/rules.md §3 (1)). */
export const CUE_THRESHOLDS = [60, 120, 180, 300, 600] as const
/** The average-response standard (docs/rules.md §3 (1)): under 90 seconds. */
export const RESPONSE_STANDARD_S = 90
export const THREE_MINUTES_S = 180

/** 0 below a minute, then 1..5 for each threshold passed. */
export function cueLevel(waitedSeconds: number): number {
  let level = 0
  for (const threshold of CUE_THRESHOLDS) if (waitedSeconds >= threshold) level += 1
  return level
}

const ANSWERING_ROLES = new Set(['agent', 'robot_assist'])

/** Since when (unix seconds) the buyer has been waiting for a human answer, or null.
 * A round starts at a buyer message while none is open and ends at the next agent (or
 * assist-robot) message; system and robot messages answer nothing (docs/rules.md §3 (1)).
 * A waiting session (queued, offline message) waits at least since it was opened — or,
 * handed over by the full-auto robot, since the hand-over: its notice is the human entry,
 * where the buyer's question left unanswered (`pending`) starts its round; what the buyer
 * said to the robot before counts for nothing. Nobody waits while the robot serves. */
export function waitingSince(session: Session, messages: readonly Message[]): number | null {
  if (session.state === 'closed' || session.state === 'robot') return null
  let since: number | null = null
  let entry: number | null = null
  for (const message of messages) {
    const handover = message.content.handover as { pending?: boolean } | undefined
    if (handover && message.sender_role === 'system') {
      entry = message.created_at
      since = handover.pending ? message.created_at : null
    } else if (message.sender_role === 'buyer') since ??= message.created_at
    else if (ANSWERING_ROLES.has(message.sender_role)) since = null
  }
  if (since === null && session.state !== 'assigned') return entry ?? session.opened_at
  return since
}

/** Buyer messages the agent has not read yet. */
export function unreadCount(session: Session, messages: readonly Message[]): number {
  let count = 0
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const message = messages[i]
    if (message.seq <= session.agent_read_seq) break
    if (message.sender_role === 'buyer') count += 1
  }
  return count
}

export type Group = 'mine' | 'queued' | 'offline'

export function groupOf(session: Session): Group {
  if (session.state === 'queued') return 'queued'
  if (session.state === 'offline') return 'offline'
  return 'mine'
}

export interface Ordered {
  id: number
  waitingSince: number | null
  lastActivity: number
}

/** Waiting first, the longest wait on top; then the most recent conversation. */
export function compareSessions(a: Ordered, b: Ordered): number {
  if (a.waitingSince !== null && b.waitingSince !== null) {
    return a.waitingSince - b.waitingSince || a.id - b.id
  }
  if (a.waitingSince !== null) return -1
  if (b.waitingSince !== null) return 1
  return b.lastActivity - a.lastActivity || b.id - a.id
}

/** 0:42, 3:05, 1:02:09. */
export function formatWait(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const ss = String(s).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** The text after a leading `/` while the agent types a quick-reply shortcut, or null. */
export function slashQuery(draft: string): string | null {
  const match = /^\/(\S*)$/.exec(draft)
  return match ? match[1] : null
}

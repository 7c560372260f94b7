import { describe, expect, it } from 'vitest'

import type { Message, Session } from '@/protocol/types'
import { sessionView } from '@/protocol/testing'

import { compareSessions, cueLevel, formatWait, slashQuery, unreadCount, waitingSince } from './cues'

function session(state: Session['state'], extra: Partial<Session> = {}): Session {
  return sessionView({ agent_id: state === 'assigned' ? 2 : null, state, entry: 'product', opened_at: 100, ...extra })
}

let seq = 0
function msg(role: Message['sender_role'], at: number): Message {
  seq += 1
  return {
    id: seq,
    session_id: 1,
    seq,
    sender_role: role,
    sender_id: 1,
    kind: 'text',
    content: { text: 'x' },
    client_id: null,
    created_at: at,
  }
}

describe('cue levels', () => {
  it('steps at 1, 2, 3, 5 and 10 minutes', () => {
    expect([0, 59, 60, 119, 120, 179, 180, 299, 300, 599, 600, 5000].map(cueLevel)).toEqual([
      0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5,
    ])
  })
})

describe('waiting since', () => {
  it('starts at the first unanswered buyer message', () => {
    const history = [msg('buyer', 110), msg('agent', 120), msg('buyer', 130), msg('buyer', 140)]
    expect(waitingSince(session('assigned'), history)).toBe(130)
  })

  it('is answered by agents and the assist robot only', () => {
    expect(waitingSince(session('assigned'), [msg('buyer', 110), msg('agent', 111)])).toBeNull()
    expect(waitingSince(session('assigned'), [msg('buyer', 110), msg('robot_assist', 111)])).toBeNull()
    expect(waitingSince(session('assigned'), [msg('buyer', 110), msg('system', 111)])).toBe(110)
    expect(waitingSince(session('assigned'), [msg('buyer', 110), msg('robot', 111)])).toBe(110)
  })

  it('after the full-auto robot: from the hand-over, when a question was left pending', () => {
    const handover = (at: number, pending: boolean): Message => ({
      ...msg('system', at),
      content: { text: 'x', handover: { reason: 'requested', detail: null, pending } },
    })
    const talk = [msg('buyer', 110), msg('robot', 111), msg('buyer', 120)]
    expect(waitingSince(session('robot'), talk)).toBeNull()
    expect(waitingSince(session('assigned'), [...talk, handover(125, true)])).toBe(125)
    expect(waitingSince(session('assigned'), [...talk, handover(125, false)])).toBeNull()
    expect(waitingSince(session('queued'), [...talk, handover(125, false)])).toBe(125)
    expect(waitingSince(session('assigned'), [...talk, handover(125, true), msg('agent', 130)])).toBeNull()
  })

  it('a queued session waits since it opened; a closed one never waits', () => {
    expect(waitingSince(session('queued'), [])).toBe(100)
    expect(waitingSince(session('offline'), [msg('system', 101)])).toBe(100)
    expect(waitingSince(session('closed'), [msg('buyer', 110)])).toBeNull()
  })
})

describe('unread', () => {
  it('counts buyer messages after what the agent read', () => {
    const history = [msg('buyer', 1), msg('agent', 2), msg('buyer', 3), msg('system', 4), msg('buyer', 5)]
    const readUpTo = history[1].seq
    expect(unreadCount(session('assigned', { agent_read_seq: readUpTo }), history)).toBe(2)
    expect(unreadCount(session('assigned', { agent_read_seq: history[4].seq }), history)).toBe(0)
  })
})

describe('order', () => {
  it('puts the longest wait first, then the latest activity', () => {
    const rows = [
      { id: 1, waitingSince: null, lastActivity: 50 },
      { id: 2, waitingSince: 30, lastActivity: 30 },
      { id: 3, waitingSince: 10, lastActivity: 40 },
      { id: 4, waitingSince: null, lastActivity: 90 },
    ]
    expect([...rows].sort(compareSessions).map((row) => row.id)).toEqual([3, 2, 4, 1])
  })
})

describe('text helpers', () => {
  it('formats a wait', () => {
    expect([0, 42, 185, 3729].map(formatWait)).toEqual(['0:00', '0:42', '3:05', '1:02:09'])
  })

  it('reads a slash shortcut', () => {
    expect(slashQuery('/')).toBe('')
    expect(slashQuery('/发货')).toBe('发货')
    expect(slashQuery('/a b')).toBeNull()
    expect(slashQuery('hi /x')).toBeNull()
  })
})

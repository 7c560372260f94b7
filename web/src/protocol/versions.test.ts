import { describe, expect, it } from 'vitest'

import type { Session } from './types'
import { sessionView } from './testing'
import { mergeSession, SessionVersions } from './versions'

function view(version: number, extra: Partial<Session> = {}): Session {
  return sessionView({ id: 7, shop_id: 2, consumer_id: 100, agent_id: 5, version, ...extra })
}

describe('SessionVersions', () => {
  it('takes a view as new as or newer than the last taken, per session', () => {
    const versions = new SessionVersions()
    expect(versions.take(view(3))).toBe(true)
    expect(versions.take(view(2))).toBe(false) // published earlier by another node
    expect(versions.take(view(3))).toBe(true) // the same row (a queue position moved)
    expect(versions.take({ id: 8, version: 0 })).toBe(true)
    expect(versions.take(view(4))).toBe(true)
  })
})

describe('mergeSession', () => {
  it('takes the view but never lowers a seq that messages or read marks have moved', () => {
    const held = { ...view(1, { last_seq: 9, agent_read_seq: 9, consumer_read_seq: 4 }), consumer_nickname: 'x' }
    const merged = mergeSession(held, view(2, { state: 'closed', last_seq: 8, consumer_read_seq: 6 }))
    expect(merged).toMatchObject({ state: 'closed', version: 2, last_seq: 9, agent_read_seq: 9, consumer_read_seq: 6 })
    expect(merged.consumer_nickname).toBe('x')
  })
})

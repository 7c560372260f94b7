import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { FeigeSocket, type WebSocketLike } from '@/protocol/socket'
import type { Message, Principal, ShopRestrictions } from '@/protocol/types'
import { sessionView } from '@/protocol/testing'

import type { ListedSession } from './calls'

// What the server answers over REST now (the tests change it while the socket is up).
const server = vi.hoisted(() => ({
  sessions: [] as unknown[],
  status: 'online' as string,
  restrictions: null as unknown,
  fetches: [] as string[],
}))

vi.mock('@/api', () => ({
  api: {
    request: async (method: string, path: string) => {
      server.fetches.push(`${method} ${path}`)
      if (path === '/api/enforcement/restrictions') return server.restrictions
      throw new Error(`unexpected ${path}`)
    },
  },
}))

vi.mock('./calls', () => ({
  calls: {
    openSessions: async () => {
      server.fetches.push('sessions')
      return server.sessions
    },
    colleagues: async () => {
      server.fetches.push('members')
      return [{ id: 5, username: 'a', display_name: 'A', role: 'agent', status: server.status, capacity: 5, active: true }]
    },
  },
}))

const { WorkbenchModel } = await import('./model')

class FakeSocket implements WebSocketLike {
  readyState = 1
  sent: Record<string, unknown>[] = []
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null

  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }

  close(): void {}

  push(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
}

const me: Principal = { kind: 'member', id: 5, role: 'agent', name: 'A', shop_id: 2 }

function session(id: number): ListedSession {
  return sessionView({ id, shop_id: 2, consumer_id: 100 + id, agent_id: 5 })
}

function restrictions(holds: ShopRestrictions['holds']): ShopRestrictions {
  return { shop_id: 2, refused_features: Object.keys(holds) as ShopRestrictions['refused_features'], holds, robot_forced_until: null, measures: [] }
}

function message(sessionId: number, seq: number): Message {
  return {
    id: seq,
    session_id: sessionId,
    seq,
    sender_role: 'buyer',
    sender_id: 100 + sessionId,
    kind: 'text',
    content: { text: `m${seq}` },
    client_id: null,
    created_at: 1,
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

/** The server's greeting with sessions 17 and 18, and the resume that follows. */
async function greet(ws: FakeSocket): Promise<void> {
  ws.push({ op: 'ready', principal: me, sessions: [{ id: 17, state: 'assigned', last_seq: 0 }, { id: 18, state: 'assigned', last_seq: 0 }], sessions_more: false, heartbeat: 25 })
  ws.push({ op: 'resumed', count: 0, more: false })
  await settle()
}

/** Sessions 17 and 18 on the server, and a socket that has just opened. */
function connect(): { ws: FakeSocket; socket: FeigeSocket } {
  server.sessions = [session(17), session(18)]
  server.status = 'online'
  server.restrictions = restrictions({})
  server.fetches = []
  let ws: FakeSocket | null = null
  const socket = new FeigeSocket({ token: () => 'tok', locale: () => 'zh-CN', url: 'ws://test/ws', createSocket: () => (ws = new FakeSocket()) })
  socket.start()
  const opened = ws as FakeSocket | null
  if (!opened) throw new Error('the socket was not created')
  opened.onopen?.({})
  return { ws: opened, socket }
}

describe('WorkbenchModel on a resync', () => {
  let ws: FakeSocket
  let socket: FeigeSocket

  beforeEach(() => {
    const connected = connect()
    ws = connected.ws
    socket = connected.socket
  })

  afterEach(() => socket.stop())

  it('fetches the sessions, the restrictions and its own status again, keeping the socket and the messages', async () => {
    const model = new WorkbenchModel(socket, me)
    await greet(ws)
    expect(model.status.value).toBeNull() // the view loads it on mounting
    expect([...model.conversations.keys()]).toEqual([17, 18])
    ws.push({ op: 'event', type: 'message', message: message(17, 1) })
    expect(model.conversations.get(17)?.messages.map((m) => m.seq)).toEqual([1])

    // Meanwhile, on another node, with the events lost: a break, an image ban, 18 moved away.
    server.status = 'break'
    server.restrictions = restrictions({ image: 4_102_444_800 })
    server.sessions = [{ ...session(17), last_seq: 1 }]
    const sentBefore = ws.sent.length
    server.fetches = []
    ws.push({ op: 'event', type: 'resync', since: null })
    await settle()

    expect(server.fetches.sort()).toEqual(['GET /api/enforcement/restrictions', 'members', 'sessions'])
    expect(model.status.value).toBe('break')
    expect(Object.keys(model.featureHolds.value)).toEqual(['image'])
    expect([...model.conversations.keys()]).toEqual([17])
    // Same socket, nothing re-sent, and messages go on from where they were.
    expect(ws.sent).toHaveLength(sentBefore)
    expect(socket.state).toBe('open')
    ws.push({ op: 'event', type: 'message', message: message(17, 2) })
    expect(model.conversations.get(17)?.messages.map((m) => m.seq)).toEqual([1, 2])
  })
})

describe('WorkbenchModel when two nodes\' events about a session cross', () => {
  let ws: FakeSocket
  let socket: FeigeSocket

  beforeEach(() => {
    const connected = connect()
    ws = connected.ws
    socket = connected.socket
  })

  afterEach(() => socket.stop())

  it('keeps the later view, and an older one does not bring back a session it let go of', async () => {
    const model = new WorkbenchModel(socket, me)
    await greet(ws)
    expect([...model.conversations.keys()]).toEqual([17, 18])

    // 17 is transferred to a colleague (version 2) on one node; this agent's earlier change
    // of it (version 1), published by another node, is heard after.
    ws.push({ op: 'event', type: 'session', change: 'transferred', session: { ...session(17), agent_id: 6, version: 2 } })
    expect(model.conversations.has(17)).toBe(false)
    ws.push({ op: 'event', type: 'session', change: 'order', session: { ...session(17), order_no: 'A1', version: 1 } })
    expect(model.conversations.has(17)).toBe(false)

    // 18 closes (version 3) and leaves the list; a view from before (version 2, still
    // assigned to this agent) does not bring it back.
    ws.push({ op: 'event', type: 'session', change: 'closed', session: { ...session(18), state: 'closed', version: 3 } })
    expect(model.conversations.has(18)).toBe(false)
    ws.push({ op: 'event', type: 'session', change: 'order', session: { ...session(18), order_no: 'B2', version: 2 } })
    expect(model.conversations.has(18)).toBe(false)

    // A listing fetched while those were on their way is older still.
    server.sessions = [{ ...session(17), version: 1 }, { ...session(18), version: 2 }]
    await model.refresh()
    expect([...model.conversations.keys()]).toEqual([])
    // A newer one is taken.
    ws.push({ op: 'event', type: 'session', change: 'transferred', session: { ...session(17), version: 4 } })
    expect([...model.conversations.keys()]).toEqual([17])
  })
})

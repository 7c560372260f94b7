import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { FeigeSocket, type WebSocketLike } from './socket'
import type { Message } from './types'

class FakeSocket implements WebSocketLike {
  readyState = 0
  sent: Record<string, unknown>[] = []
  closedWith: number | null = null
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null

  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }

  close(code = 1000): void {
    this.closedWith = code
  }

  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }

  push(...frames: unknown[]): void {
    // Several frames at once come as one array, as the server sends a group commit.
    this.onmessage?.({ data: JSON.stringify(frames.length === 1 ? frames[0] : frames) })
  }

  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }

  ops(op: string): Record<string, unknown>[] {
    return this.sent.filter((frame) => frame.op === op)
  }
}

function message(sessionId: number, seq: number, clientId: string | null = null): Message {
  return {
    id: sessionId * 1000 + seq,
    session_id: sessionId,
    seq,
    sender_role: 'agent',
    sender_id: 2,
    kind: 'text',
    content: { text: `m${seq}` },
    client_id: clientId,
    created_at: 1,
  }
}

const event = (m: Message) => ({ op: 'event', type: 'message', message: m })
const ready = (sessions: { id: number; state: string; last_seq: number }[] = []) => ({
  op: 'ready',
  principal: { kind: 'consumer', id: 7, role: 'consumer', name: 'x', shop_id: null },
  sessions,
  sessions_more: false,
  heartbeat: 25,
})
const resumed = (more = false) => ({ op: 'resumed', count: 0, more })

describe('FeigeSocket', () => {
  let sockets: FakeSocket[]
  let client: FeigeSocket
  let delivered: Message[]

  const current = () => sockets[sockets.length - 1]

  beforeEach(() => {
    vi.useFakeTimers()
    sockets = []
    client = new FeigeSocket({
      token: () => 'tok',
      locale: () => 'zh-CN',
      url: 'ws://test/ws',
      createSocket: () => {
        const socket = new FakeSocket()
        sockets.push(socket)
        return socket
      },
      backoffMs: { initial: 100, max: 1000 },
      random: () => 1,
    })
    delivered = []
    client.on('message', (m) => delivered.push(m))
    client.start()
    current().open()
  })

  afterEach(() => {
    client.stop()
    vi.useRealTimers()
  })

  const seqs = () => delivered.map((m) => `${m.session_id}:${m.seq}`)

  it('authenticates first, then takes the open sessions as its starting point', () => {
    expect(current().sent[0]).toEqual({ op: 'auth', token: 'tok', lang: 'zh-CN', resume: {} })
    current().push(ready([{ id: 17, state: 'assigned', last_seq: 44 }]), resumed())
    expect(client.state).toBe('open')
    expect(client.historyBefore(17)).toBe(45)
    current().push(event(message(17, 44)), event(message(17, 45)))
    expect(seqs()).toEqual(['17:45'])
  })

  it('delivers each message once and in order, asking for what a gap skipped', () => {
    current().push(ready([{ id: 17, state: 'assigned', last_seq: 3 }]), resumed())
    current().push(event(message(17, 4)), event(message(17, 4)), event(message(17, 6)))
    expect(seqs()).toEqual(['17:4'])
    expect(current().ops('resume')).toEqual([{ op: 'resume', resume: { '17': 4 } }])
    // A live message arrives while the resume is on its way; then the reply, which also
    // holds it: every message once.
    current().push(event(message(17, 7)))
    current().push(event(message(17, 5)), event(message(17, 6)), event(message(17, 7)), resumed())
    expect(seqs()).toEqual(['17:4', '17:5', '17:6', '17:7'])
    // The live 7 was dropped as a gap while the resume ran, so the client asks once more
    // from 7: an empty reply, and it is in sync.
    expect(current().ops('resume').at(-1)).toEqual({ op: 'resume', resume: { '17': 7 } })
    current().push(resumed())
    expect(current().ops('resume')).toHaveLength(2)
  })

  it('resumes from the last sequence number per session after a reconnect', () => {
    current().push(
      ready([
        { id: 17, state: 'assigned', last_seq: 2 },
        { id: 18, state: 'queued', last_seq: 0 },
      ]),
      resumed(),
    )
    current().push(event(message(17, 3)), event(message(18, 1)))
    current().drop()
    expect(client.state).toBe('waiting')
    vi.advanceTimersByTime(100)
    current().open()
    expect(current().sent[0]).toMatchObject({ op: 'auth', resume: { '17': 3, '18': 1 } })
    current().push(ready(), event(message(17, 3)), event(message(17, 4)), resumed(true))
    // `more`: ask again from where it now stands, until a reply says no more.
    expect(current().ops('resume')).toEqual([{ op: 'resume', resume: { '17': 4, '18': 1 } }])
    current().push(event(message(17, 5)), event(message(18, 2)), resumed())
    expect(seqs()).toEqual(['17:3', '18:1', '17:4', '17:5', '18:2'])
  })

  it('resends unacknowledged sends with the same client id after a reconnect', async () => {
    current().push(ready([{ id: 17, state: 'assigned', last_seq: 0 }]), resumed())
    const first = client.send({ session_id: 17 }, 'text', { text: 'a' })
    const second = client.send({ session_id: 17 }, 'text', { text: 'b' })
    expect(current().ops('send').map((f) => f.client_id)).toEqual([first.clientId, second.clientId])
    // The first was stored but its ack was lost with the connection.
    current().drop()
    const third = client.send({ session_id: 17 }, 'text', { text: 'c' })
    vi.advanceTimersByTime(100)
    current().open()
    current().push(ready(), event(message(17, 1, first.clientId)), resumed())
    const resent = current().ops('send')
    expect(resent.map((f) => f.client_id)).toEqual([first.clientId, second.clientId, third.clientId])
    expect(resent[0]).toMatchObject({ session_id: 17, kind: 'text', content: { text: 'a' } })
    current().push(
      { op: 'ack', client_id: first.clientId, seq: 1, duplicate: true, message: message(17, 1, first.clientId) },
      { op: 'ack', client_id: second.clientId, seq: 2, duplicate: false, message: message(17, 2, second.clientId) },
      { op: 'ack', client_id: third.clientId, seq: 3, duplicate: false, message: message(17, 3, third.clientId) },
    )
    await expect(first.acked).resolves.toMatchObject({ duplicate: true })
    await expect(third.acked).resolves.toMatchObject({ seq: 3 })
    expect(seqs()).toEqual(['17:1', '17:2', '17:3'])
    expect(client.unacknowledged).toBe(0)
  })

  it('refuses a send the server refuses, and retries one that was rate limited', async () => {
    current().push(ready([{ id: 17, state: 'assigned', last_seq: 0 }]), resumed())
    const blocked = client.send({ session_id: 17 }, 'text', { text: 'x' })
    const limited = client.send({ session_id: 17 }, 'text', { text: 'y' })
    current().push(
      { op: 'error', for: 'send', ref: blocked.clientId, code: 'blocked', message: '违规', params: { clause: '2.2.3' } },
      { op: 'error', for: 'send', ref: limited.clientId, code: 'rate_limited', message: '慢点', retry_after: 2 },
    )
    await expect(blocked.acked).rejects.toMatchObject({ code: 'blocked', params: { clause: '2.2.3' } })
    expect(current().ops('send')).toHaveLength(2)
    vi.advanceTimersByTime(2000)
    expect(current().ops('send').at(-1)).toMatchObject({ client_id: limited.clientId })
    client.stop()
    await expect(limited.acked).rejects.toMatchObject({ code: 'stopped' })
  })

  it('signs out on 4401 and stops reconnecting', () => {
    const reasons: string[] = []
    client.on('signedOut', (code) => reasons.push(code))
    current().push(ready(), resumed())
    current().push({ op: 'event', type: 'revoked', account: 'consumer:7', version: 2, reason: 'signed_out' })
    current().push({ op: 'error', code: 'token_revoked', message: '…' })
    current().drop(4401)
    vi.advanceTimersByTime(60_000)
    expect(reasons).toEqual(['token_revoked'])
    expect(client.state).toBe('signed_out')
    expect(sockets).toHaveLength(1)
  })

  it('backs off between failed attempts and starts over after a ready', () => {
    current().drop()
    vi.advanceTimersByTime(99)
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)
    current().drop()
    vi.advanceTimersByTime(199)
    expect(sockets).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(3)
    current().open()
    current().push(ready(), resumed())
    current().drop()
    vi.advanceTimersByTime(100)
    expect(sockets).toHaveLength(4)
  })

  it('reconnects when the connection goes silent', () => {
    current().push(ready(), resumed())
    vi.advanceTimersByTime(25_000)
    expect(current().ops('ping')).toHaveLength(1)
    vi.advanceTimersByTime(50_000)
    expect(current().closedWith).toBe(4000)
    vi.advanceTimersByTime(100)
    expect(sockets).toHaveLength(2)
  })

  it('skips its own typing and passes the other side on', () => {
    const seen: unknown[] = []
    client.on('event', (e) => seen.push(e))
    current().push(ready(), resumed())
    current().push(
      { op: 'event', type: 'typing', session_id: 17, who: 'consumer', id: 7 },
      { op: 'event', type: 'typing', session_id: 17, who: 'member', id: 7 },
    )
    expect(seen).toEqual([{ op: 'event', type: 'typing', session_id: 17, who: 'member', id: 7 }])
  })

  it('fetches again on a resync, on the same socket, keeping every resume position', () => {
    const causes: string[] = []
    const seen: unknown[] = []
    client.on('refetch', (cause) => causes.push(cause))
    client.on('event', (e) => seen.push(e))
    current().push(ready([{ id: 17, state: 'assigned', last_seq: 3 }]), resumed())
    expect(causes).toEqual(['connected'])
    current().push(event(message(17, 4)))
    const sentBefore = current().sent.length
    current().push({ op: 'event', type: 'resync', since: 1_700_000_000 })
    expect(causes).toEqual(['connected', 'resync'])
    // Not a page's event, no new connection, nothing asked of the server by the socket.
    expect(seen).toEqual([])
    expect(sockets).toHaveLength(1)
    expect(current().sent).toHaveLength(sentBefore)
    expect(client.state).toBe('open')
    // Messages go on from where they were: the next is delivered, one already had dropped,
    // and a gap asks from the position kept.
    current().push(event(message(17, 4)), event(message(17, 5)), event(message(17, 7)))
    expect(seqs()).toEqual(['17:4', '17:5'])
    expect(current().ops('resume')).toEqual([{ op: 'resume', resume: { '17': 5 } }])
    expect(client.lastSeqOf(17)).toBe(5)
  })

  it('folds resyncs close together into one more refetch', () => {
    const causes: string[] = []
    client.on('refetch', (cause) => causes.push(cause))
    current().push(ready(), resumed())
    const resync = { op: 'event', type: 'resync', since: null }
    current().push(resync)
    vi.advanceTimersByTime(300)
    current().push(resync) // the same outage's second trigger
    current().push(resync)
    expect(causes).toEqual(['connected', 'resync'])
    vi.advanceTimersByTime(700)
    expect(causes).toEqual(['connected', 'resync', 'resync'])
    vi.advanceTimersByTime(5000)
    expect(causes).toHaveLength(3)
    current().push(resync) // a later loss: at once
    expect(causes).toEqual(['connected', 'resync', 'resync', 'resync'])
  })

  it('drops a pending resync refetch when the connection closes: the reconnect fetches', () => {
    const causes: string[] = []
    client.on('refetch', (cause) => causes.push(cause))
    current().push(ready(), resumed())
    current().push({ op: 'event', type: 'resync', since: null })
    current().push({ op: 'event', type: 'resync', since: null })
    current().drop()
    vi.advanceTimersByTime(100)
    current().open()
    current().push(ready(), resumed())
    vi.advanceTimersByTime(2000)
    expect(causes).toEqual(['connected', 'resync', 'connected'])
  })
})

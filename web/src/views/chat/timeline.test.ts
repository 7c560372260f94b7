import { describe, expect, it } from 'vitest'

import type { Message, Session } from '@/protocol/types'
import { sessionView } from '@/protocol/testing'

import { cardContent, parseEntry, parseHandover } from './entry'
import { buildItems, insertMessage, openSession, replaceMessage, settlePending, type PendingMessage } from './timeline'

function session(id: number, state: Session['state'] = 'assigned', agentRead = 0): Session {
  return sessionView({ id, consumer_id: 7, state, entry: 'direct', opened_at: 1000, agent_read_seq: agentRead })
}

function message(sessionId: number, seq: number, role: Message['sender_role'] = 'agent', clientId: string | null = null, at = 1000 + seq): Message {
  return {
    id: sessionId * 100 + seq,
    session_id: sessionId,
    seq,
    sender_role: role,
    sender_id: 1,
    kind: 'text',
    content: { text: `m${seq}` },
    client_id: clientId,
    created_at: at,
  }
}

function pending(clientId: string): PendingMessage {
  return { clientId, kind: 'text', content: { text: clientId }, state: 'sending', progress: 1, createdAt: 0 }
}

describe('insertMessage', () => {
  it('keeps each seq once and in order, whatever order they come in', () => {
    const list: Message[] = []
    for (const seq of [3, 1, 2, 3, 1, 5, 4]) insertMessage(list, message(1, seq))
    expect(list.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5])
    expect(insertMessage(list, message(1, 4))).toBe(false)
    expect(insertMessage(list, message(1, 6))).toBe(true)
  })
})

describe('replaceMessage', () => {
  it('swaps a recalled message in at its seq, and leaves a list without it alone', () => {
    const list = [message(1, 1), message(1, 2), message(1, 3)]
    const recalled: Message = { ...message(1, 2), kind: 'recalled', content: { text: '该消息因违规已被撤回' } }
    expect(replaceMessage(list, recalled)).toBe(true)
    expect(list.map((m) => m.kind)).toEqual(['text', 'recalled', 'text'])
    expect(list[1].content.text).toBe('该消息因违规已被撤回')
    expect(replaceMessage(list, { ...recalled, seq: 9 })).toBe(false)
    expect(list).toHaveLength(3)
  })
})

describe('pending messages', () => {
  it('leave the list when their stored message arrives, never shown twice', () => {
    const messages = { 1: [message(1, 1, 'buyer', 'c-1')] }
    const waiting = [pending('c-1'), pending('c-2')]
    // Rendering hides the stored one's pending twin even before it is settled.
    const items = buildItems([session(1)], messages, waiting)
    expect(items.filter((i) => i.type === 'pending').map((i) => i.key)).toEqual(['pc-2'])
    expect(settlePending(waiting, messages).map((p) => p.clientId)).toEqual(['c-2'])
  })

  it('are matched on the consumer own messages only', () => {
    const messages = { 1: [message(1, 1, 'agent', 'c-1')] }
    expect(settlePending([pending('c-1')], messages)).toHaveLength(1)
  })
})

describe('buildItems', () => {
  it('lists sessions oldest first, notices apart, receipts on own messages', () => {
    const items = buildItems(
      [session(2, 'assigned', 2), session(1, 'closed', 0)],
      {
        1: [message(1, 1, 'buyer')],
        2: [message(2, 1, 'system'), message(2, 2, 'buyer'), message(2, 3, 'buyer')],
      },
      [],
    )
    expect(items.map((i) => i.type)).toEqual(['session', 'message', 'session', 'notice', 'message', 'message'])
    const own = items.filter((i) => i.type === 'message')
    expect(own.map((i) => (i.type === 'message' ? [i.mine, i.read] : null))).toEqual([
      [true, false],
      [true, true],
      [true, false],
    ])
  })

  it('puts a time line where the talk paused', () => {
    const items = buildItems(
      [session(1)],
      { 1: [message(1, 1, 'buyer', null, 1010), message(1, 2, 'agent', null, 1020), message(1, 3, 'agent', null, 1020 + 301)] },
      [],
    )
    expect(items.map((i) => i.type)).toEqual(['session', 'message', 'message', 'time', 'message'])
  })
})

describe('openSession', () => {
  it('is the newest session while it is open', () => {
    expect(openSession([session(1, 'closed'), session(3, 'queued'), session(2, 'closed')])?.id).toBe(3)
    expect(openSession([session(4, 'closed'), session(3, 'assigned')])).toBeNull()
    expect(openSession([])).toBeNull()
  })
})

describe('parseEntry', () => {
  it('reads a product card from the address', () => {
    const entry = parseEntry({ shop: '1', product: 'P1001', title: ' 羊毛大衣 ', price: '399' })
    expect(entry).toEqual({
      shopId: 1,
      entry: 'product',
      card: { kind: 'product_card', product_id: 'P1001', title: '羊毛大衣', price: '399' },
    })
    expect(cardContent(entry.card!)).toEqual({ product_id: 'P1001', title: '羊毛大衣', price: '399' })
  })

  it('reads an order card, or none, and refuses a shop that is not an id', () => {
    expect(parseEntry({ shop: '2', order: 'O1', status: '已发货' }).card).toEqual({
      kind: 'order_card',
      order_no: 'O1',
      status: '已发货',
    })
    expect(parseEntry({ shop: 'x' })).toEqual({ shopId: null, entry: 'direct', card: null })
    expect(parseEntry({ shop: ['3', '4'] }).shopId).toBe(3)
  })
})

describe('parseHandover', () => {
  it('needs the user, the time and the signature', () => {
    expect(parseHandover('#uid=u1&nick=%E5%B0%8F%E6%9D%8E&ts=1700000000&sig=abc')).toEqual({
      external_id: 'u1',
      nickname: '小李',
      ts: 1700000000,
      signature: 'abc',
    })
    expect(parseHandover('#uid=u1&ts=1700000000')).toBeNull()
    expect(parseHandover('#uid=u1&ts=soon&sig=abc')).toBeNull()
    expect(parseHandover('')).toBeNull()
  })
})

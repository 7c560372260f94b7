// Where a chat was opened from, read from the chat window's address (docs/web.md, "Opening
// a chat"): the shop, and the product or order the consumer was looking at, which the
// window shows at the top and sends as the new session's entry card.
//
//   /chat?shop=1&product=P1001&title=…&price=…&image=https://…   from a product page
//   /chat?shop=1&order=O2024…&title=…&amount=…&status=…          from an order
//   /chat?shop=1                                                   from the shop's page

import type { Card } from '@/protocol/types'

export type EntryKind = 'product' | 'order' | 'direct'

export interface ChatEntry {
  shopId: number | null
  entry: EntryKind
  card: Card | null
}

type Query = Record<string, unknown>

function text(query: Query, name: string, max: number): string | undefined {
  const raw = query[name]
  const value = Array.isArray(raw) ? raw[0] : raw
  if (typeof value !== 'string') return undefined
  const trimmed = value.trim()
  return trimmed ? trimmed.slice(0, max) : undefined
}

/** Absent fields stay absent (the server checks what is sent, moderation included). */
function compact(card: Record<string, string | undefined>): Card {
  return Object.fromEntries(Object.entries(card).filter(([, value]) => value !== undefined))
}

export function parseEntry(query: Query): ChatEntry {
  const shop = Number(text(query, 'shop', 20))
  const shopId = Number.isSafeInteger(shop) && shop > 0 ? shop : null
  const product = text(query, 'product', 64)
  if (product) {
    const card = compact({
      kind: 'product_card',
      product_id: product,
      title: text(query, 'title', 200),
      price: text(query, 'price', 32),
      image_url: text(query, 'image', 1000),
    })
    return { shopId, entry: 'product', card }
  }
  const order = text(query, 'order', 64)
  if (order) {
    const card = compact({
      kind: 'order_card',
      order_no: order,
      title: text(query, 'title', 200),
      amount: text(query, 'amount', 32),
      status: text(query, 'status', 32),
    })
    return { shopId, entry: 'order', card }
  }
  return { shopId, entry: 'direct', card: null }
}

/** The card as a message's content: without its `kind`, which is the message's. */
export function cardContent(card: Card): Record<string, unknown> {
  const content: Record<string, unknown> = { ...card }
  delete content.kind
  return content
}

/** The marketplace's signed hand-over of its user, from the address's fragment
 * (`#uid=…&nick=…&ts=…&sig=…`, docs/web.md "Embedding the chat"). */
export interface Handover {
  external_id: string
  nickname: string
  ts: number
  signature: string
}

export function parseHandover(hash: string): Handover | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''))
  const externalId = params.get('uid')
  const signature = params.get('sig')
  const ts = Number(params.get('ts'))
  if (!externalId || !signature || !Number.isSafeInteger(ts)) return null
  return { external_id: externalId, nickname: params.get('nick') ?? '', ts, signature }
}

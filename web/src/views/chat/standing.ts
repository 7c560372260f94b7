// The consumer's account held (rules 4.2, docs/enforcement.md): pure, tested without a browser.

import type { ConsumerStanding } from '@/protocol/types'

/** The consumer's account muted (until a time) or banned (rules 4.2, docs/enforcement.md):
 * sends are refused, so the window says why and holds the composer. */
export interface AccountHold {
  kind: 'mute' | 'ban'
  /** Unix milliseconds the mute ends; null for a ban. */
  until: number | null
  /** Why (the violation's categories), when the account's standing said. */
  reasons?: string[]
  /** How to appeal, in both languages (the standing's `appeal`). */
  appeal?: { text: string; text_en: string }
}

/** The hold the consumer's own standing names (`GET /api/me/standing`), or null. */
export function holdOfStanding(standing: ConsumerStanding): AccountHold | null {
  const held = standing.restriction
  if (standing.state === 'ok' || !held) return null
  return {
    kind: held.kind,
    until: held.ends_at === null ? null : held.ends_at * 1000,
    reasons: held.categories,
    appeal: standing.appeal,
  }
}

/** The hold a refused send names (`consumer_muted` with `until`, `consumer_banned`). */
export function holdOfRefusal(code: string, params: Record<string, unknown>): AccountHold | null {
  if (code === 'consumer_banned') return { kind: 'ban', until: null }
  if (code !== 'consumer_muted') return null
  const until = Date.parse(String(params.until ?? ''))
  return { kind: 'mute', until: Number.isNaN(until) ? null : until }
}

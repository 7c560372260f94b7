import { describe, expect, it } from 'vitest'

import { holdsOfRestrictions } from '@/views/workbench/holds'

import { holdOfStanding } from './standing'

describe('a consumer standing (GET /api/me/standing)', () => {
  const appeal = { text: '请联系平台客服申诉', text_en: 'Contact customer service' }

  it('holds nothing when the account is in good standing', () => {
    expect(holdOfStanding({ consumer_id: 1, state: 'ok', restriction: null, appeal })).toBeNull()
  })

  it('holds a mute until its end, with why and how to appeal', () => {
    const hold = holdOfStanding({
      consumer_id: 1,
      state: 'muted',
      restriction: { id: 3, kind: 'mute', starts_at: 100, ends_at: 200, categories: ['spam'] },
      appeal,
    })
    expect(hold).toEqual({ kind: 'mute', until: 200_000, reasons: ['spam'], appeal })
  })

  it('holds a ban with no end', () => {
    const hold = holdOfStanding({
      consumer_id: 1,
      state: 'banned',
      restriction: { id: 4, kind: 'ban', starts_at: 100, ends_at: null, categories: ['fraud'] },
      appeal,
    })
    expect(hold?.kind).toBe('ban')
    expect(hold?.until).toBeNull()
  })
})

describe("a shop's restrictions (GET /api/enforcement/restrictions)", () => {
  it('holds each refused feature until its end, in milliseconds', () => {
    const holds = holdsOfRestrictions({
      shop_id: 1,
      refused_features: ['card', 'image'],
      holds: { image: 1_000, card: 2_000 },
      robot_forced_until: null,
      measures: [],
    })
    expect(holds).toEqual({ image: 1_000_000, card: 2_000_000 })
  })
})

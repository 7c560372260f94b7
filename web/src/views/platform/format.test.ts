import { describe, expect, it } from 'vitest'

import type { ShopWeek } from './calls'
import { changedKeys, figure, findingsOf, highlight, passRates, standardText, weeksOf } from './format'

describe('highlight', () => {
  it('cuts the text at the findings', () => {
    const segments = highlight('加我微信abc123好吗', [
      { category: 'third_party.contact', start: 2, end: 10, detector: 'contact' },
    ])
    expect(segments).toEqual([
      { text: '加我', categories: [] },
      { text: '微信abc123', categories: ['third_party.contact'] },
      { text: '好吗', categories: [] },
    ])
  })

  it('counts code points as the server does, so an emoji does not shift a finding', () => {
    const segments = highlight('😀加我vx', [{ category: 'spam', start: 1, end: 3, detector: 'x' }])
    expect(segments.map((s) => s.text)).toEqual(['😀', '加我', 'vx'])
  })

  it('merges overlapping findings and clamps those past the end', () => {
    const segments = highlight('abcdef', [
      { category: 'spam', start: 1, end: 4, detector: 'x' },
      { category: 'fraud', start: 3, end: 99, detector: 'y' },
    ])
    expect(segments).toEqual([
      { text: 'a', categories: [] },
      { text: 'bc', categories: ['spam'] },
      { text: 'd', categories: ['fraud', 'spam'] },
      { text: 'ef', categories: ['fraud'] },
    ])
  })

  it('keeps only span findings', () => {
    expect(findingsOf({ sessions: ['1'] })).toEqual([])
    expect(findingsOf([{ category: 'spam', start: 0, end: 2, detector: 'x' }, { bad: 1 }])).toHaveLength(1)
  })
})

function week(name: string, shop: number, verdicts: Record<string, boolean | null>): ShopWeek {
  const metrics = Object.fromEntries(
    Object.entries(verdicts).map(([metric, passed]) => [
      metric,
      { value: 0.5, numerator: 1, denominator: 2, standard: '', passed },
    ]),
  )
  return { week: name, shop_id: shop, passed: null, result: { metrics } }
}

describe('passRates', () => {
  it('counts per metric the shops that passed, leaving out those without a figure', () => {
    const rows = [
      week('2026-W47', 1, { no_service_rate: true, dissatisfaction_rate: null }),
      week('2026-W47', 2, { no_service_rate: false, dissatisfaction_rate: true }),
      week('2026-W46', 1, { no_service_rate: false }),
    ]
    const rates = passRates(rows, '2026-W47')
    expect(rates.find((r) => r.metric === 'no_service_rate')).toMatchObject({ passed: 1, failed: 1, rate: 0.5 })
    expect(rates.find((r) => r.metric === 'dissatisfaction_rate')).toMatchObject({ passed: 1, unassessed: 1, rate: 1 })
    expect(rates.find((r) => r.metric === 'avg_response_seconds')?.rate).toBeNull()
    expect(weeksOf(rows)).toEqual(['2026-W47', '2026-W46'])
  })
})

describe('figures and changes', () => {
  it('reads rates in per cent and seconds as seconds', () => {
    expect(figure('three_minute_reply_rate', 0.8125)).toBe('81.3%')
    expect(figure('avg_response_seconds', 61.5)).toBe('61.5 s')
    expect(figure('no_service_rate', null)).toBe('—')
    expect(standardText('no_service_rate', '< 0.20')).toBe('< 20%')
    expect(standardText('three_minute_reply_rate', '>= 0.80')).toBe('≥ 80%')
    expect(standardText('avg_response_seconds', '< 90')).toBe('< 90 s')
    expect(standardText('other', 'odd')).toBe('odd')
  })

  it('names the fields a change touched', () => {
    expect(changedKeys({ status: 'pending', a: 1 }, { status: 'confirmed', a: 1 })).toEqual(['status'])
    expect(changedKeys(null, { x: 1 })).toEqual(['x'])
  })
})

import { describe, expect, it } from 'vitest'

import type { KnowledgeEntry, Measure, ShopWeek, Violation } from './calls'
import {
  categories,
  filterRows,
  formatFigure,
  formatStandard,
  knowledgeRows,
  measureAppeal,
  parseSimilar,
  violationAppeal,
  weekSeries,
} from './model'

function entry(question: string, source: 'shop' | 'platform', extra: Partial<KnowledgeEntry> = {}): KnowledgeEntry {
  return { question, similar_questions: [], answer: `${question}的答案`, category: '', enabled: true, source, ...extra }
}

const view = {
  entries: [
    entry('多久发货', 'shop', { answer: '48 小时内发货', category: '物流' }),
    entry('能开发票吗', 'shop', { enabled: false, category: '发票' }),
    entry('耳机防水吗', 'shop', { similar_questions: ['能游泳戴吗'], category: '商品' }),
  ],
  defaults: [
    entry('多久发货', 'platform', { overridden: true, category: '物流' }),
    entry('能开发票吗', 'platform', { overridden: true, category: '发票' }),
    entry('怎么退货', 'platform', { category: '售后' }),
  ],
}

describe('knowledgeRows', () => {
  it('puts the shop over the defaults, each question once', () => {
    const rows = knowledgeRows(view)
    expect(rows.map((row) => [row.question, row.state])).toEqual([
      ['多久发货', 'override'],
      ['能开发票吗', 'disabledDefault'],
      ['耳机防水吗', 'own'],
      ['怎么退货', 'default'],
    ])
    expect(rows[0].platform?.source).toBe('platform')
    expect(rows[2].platform).toBeNull()
  })

  it('filters by words, category and source', () => {
    const rows = knowledgeRows(view)
    const pick = (filter: Partial<Parameters<typeof filterRows>[1]>) =>
      filterRows(rows, { text: '', category: '', source: 'all', ...filter }).map((row) => row.question)
    expect(pick({ text: '游泳' })).toEqual(['耳机防水吗'])
    expect(pick({ text: '48 小时' })).toEqual(['多久发货'])
    expect(pick({ category: '售后' })).toEqual(['怎么退货'])
    expect(pick({ source: 'shop' })).toEqual(['多久发货', '能开发票吗', '耳机防水吗'])
    expect(pick({ source: 'platform' })).toEqual(['多久发货', '能开发票吗', '怎么退货'])
    expect(categories(rows)).toHaveLength(4)
  })

  it('reads similar questions one per line or with |', () => {
    expect(parseSimilar(' 几天发货\n\n什么时候发|几天发货 ')).toEqual(['几天发货', '什么时候发'])
  })
})

const DAY = 86_400
const now = 1_800_000_000

function violation(extra: Partial<Violation>): Violation {
  return {
    id: 1,
    kind: 'message',
    shop_id: 1,
    session_id: 42,
    message_id: 7,
    sender_role: 'agent',
    categories: ['misuse'],
    clauses: ['2.2.10'],
    action: 'review',
    status: 'confirmed',
    created_at: now - 3 * DAY,
    reviewed_at: now - 2 * DAY,
    ...extra,
  }
}

function measure(extra: Partial<Measure>): Measure {
  return {
    id: 5,
    shop_id: 1,
    measure: 'restriction',
    source_kind: 'points',
    source_id: 9,
    details: {},
    starts_at: now - DAY,
    ends_at: now + 6 * DAY,
    reversed_at: null,
    created_at: now - DAY,
    ...extra,
  }
}

describe('appeals', () => {
  it('opens a confirmed violation or a measure for 7 days, once', () => {
    expect(violationAppeal(violation({}), [], now)).toBe('open')
    expect(violationAppeal(violation({ reviewed_at: now - 8 * DAY }), [], now)).toBe('closed')
    expect(violationAppeal(violation({ status: 'pending', reviewed_at: null }), [], now)).toBe('none')
    const filed = { id: 3, target_kind: 'violation', target_id: 1 } as never
    expect(violationAppeal(violation({}), [filed], now)).toBe('appealed')
    expect(measureAppeal(measure({}), [filed], now)).toBe('open')
    expect(measureAppeal(measure({ reversed_at: now }), [], now)).toBe('none')
    expect(measureAppeal(measure({ created_at: now - 9 * DAY }), [], now)).toBe('closed')
  })
})

describe('weekSeries', () => {
  it('orders weeks and scales the figures', () => {
    const figure = (value: number | null) => ({ value, numerator: 0, denominator: 1 })
    const week = (name: string, passed: boolean, seconds: number): ShopWeek => ({
      week: name,
      shop_id: 1,
      passed,
      result: {
        passed,
        metrics: {
          no_service_rate: figure(0.02),
          three_minute_reply_rate: figure(0.855),
          avg_response_seconds: figure(seconds),
          dissatisfaction_rate: figure(null),
        },
      },
    })
    const series = weekSeries([week('2026-W47', false, 120.04), week('2026-W46', true, 31.26)])
    expect(series.weeks).toEqual(['2026-W46', '2026-W47'])
    expect(series.passed).toEqual([true, false])
    expect(series.values.avg_response_seconds).toEqual([31.3, 120])
    expect(series.values.three_minute_reply_rate).toEqual([85.5, 85.5])
    expect(series.values.dissatisfaction_rate).toEqual([null, null])
    expect(formatFigure('no_service_rate', 0.02)).toBe('2%')
    expect(formatFigure('avg_response_seconds', 31.26)).toBe('31.3 s')
    expect(formatFigure('dissatisfaction_rate', null)).toBe('—')
    expect(formatStandard('three_minute_reply_rate', '>= 0.80')).toBe('≥ 80%')
    expect(formatStandard('no_service_rate', '< 0.20')).toBe('< 20%')
    expect(formatStandard('avg_response_seconds', '< 90')).toBe('< 90 s')
    expect(formatStandard('avg_response_seconds', 'odd')).toBe('odd')
  })
})

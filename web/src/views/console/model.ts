// The shop console's pure rules (unit-tested in model.test.ts): the knowledge base as one list
// of the shop's entries over the platform's defaults, its filters; which records may still be
// appealed; the weekly assessment as chart series.

import type {
  Appeal,
  KnowledgeEntry,
  KnowledgeView,
  Measure,
  ShopWeek,
  Violation,
} from './calls'

/** The four assessed metrics (docs/rules.md §3), in the order the assessment lists them. */
export const METRICS = [
  'no_service_rate',
  'three_minute_reply_rate',
  'avg_response_seconds',
  'dissatisfaction_rate',
] as const
export type MetricName = (typeof METRICS)[number]

// --- the knowledge base -------------------------------------------------------------------------

/** How a row stands against the platform's defaults:
 * `own` the shop's entry; `override` the shop's entry replacing a default of the same question;
 * `disabledDefault` the shop's disabled entry of a default's question (the default is off);
 * `default` a platform default in use. A default the shop overrides is not a row of its own. */
export type RowState = 'own' | 'override' | 'disabledDefault' | 'default'

export interface KnowledgeRow extends KnowledgeEntry {
  state: RowState
  /** The platform default behind an `override` or `disabledDefault` row. */
  platform: KnowledgeEntry | null
}

export function knowledgeRows(view: KnowledgeView): KnowledgeRow[] {
  const defaults = new Map(view.defaults.map((entry) => [entry.question, entry]))
  const rows: KnowledgeRow[] = view.entries.map((entry) => {
    const platform = defaults.get(entry.question) ?? null
    const state: RowState = platform === null ? 'own' : entry.enabled ? 'override' : 'disabledDefault'
    return { ...entry, state, platform }
  })
  const own = new Set(view.entries.map((entry) => entry.question))
  for (const entry of view.defaults) {
    if (!own.has(entry.question)) rows.push({ ...entry, state: 'default', platform: entry })
  }
  return rows
}

export type SourceFilter = 'all' | 'shop' | 'platform'

export interface KnowledgeFilter {
  text: string
  category: string
  source: SourceFilter
}

/** Words anywhere in the question, a similar question or the answer (case-insensitive), a
 * category (exactly; '' for all) and the source: the shop's own rows (`own`, `override`,
 * `disabledDefault`) or the platform's (`default`, and the defaults the shop changed). */
export function filterRows(rows: KnowledgeRow[], filter: KnowledgeFilter): KnowledgeRow[] {
  const words = filter.text.trim().toLowerCase().split(/\s+/).filter(Boolean)
  return rows.filter((row) => {
    if (filter.category && row.category !== filter.category) return false
    if (filter.source === 'shop' && row.state === 'default') return false
    if (filter.source === 'platform' && row.platform === null) return false
    if (words.length === 0) return true
    const haystack = [row.question, ...row.similar_questions, row.answer].join('\n').toLowerCase()
    return words.every((word) => haystack.includes(word))
  })
}

export function categories(rows: KnowledgeRow[]): string[] {
  return [...new Set(rows.map((row) => row.category).filter(Boolean))].sort((a, b) => a.localeCompare(b, 'zh-CN'))
}

/** The similar questions typed one per line (or with `|`), trimmed, each once. */
export function parseSimilar(text: string): string[] {
  const seen = new Set<string>()
  for (const line of text.split(/[\n|]/)) {
    const item = line.trim()
    if (item) seen.add(item)
  }
  return [...seen]
}

// --- appeals ------------------------------------------------------------------------------------

/** docs/enforcement.md: once, within 7 days of the decision (`appeal_days`; the server has
 * the last word and says why when it refuses). */
export const APPEAL_DAYS = 7
const DAY = 86_400

export type AppealState = 'open' | 'appealed' | 'closed' | 'none'

function appealed(appeals: Appeal[], kind: Appeal['target_kind'], id: number): Appeal | null {
  return appeals.find((appeal) => appeal.target_kind === kind && appeal.target_id === id) ?? null
}

export function violationAppeal(violation: Violation, appeals: Appeal[], now: number): AppealState {
  if (appealed(appeals, 'violation', violation.id)) return 'appealed'
  if (violation.status !== 'confirmed' || violation.reviewed_at === null) return 'none'
  return now <= violation.reviewed_at + APPEAL_DAYS * DAY ? 'open' : 'closed'
}

export function measureAppeal(measure: Measure, appeals: Appeal[], now: number): AppealState {
  if (appealed(appeals, 'measure', measure.id)) return 'appealed'
  if (measure.reversed_at !== null) return 'none'
  return now <= measure.created_at + APPEAL_DAYS * DAY ? 'open' : 'closed'
}

// --- the weekly assessment ----------------------------------------------------------------------

export interface WeekSeries {
  weeks: string[]
  /** Per metric, per week: rates in percent, the average response in seconds; null: no data. */
  values: Record<MetricName, (number | null)[]>
  passed: boolean[]
}

/** Oldest week first, whatever order the API lists them in. */
export function weekSeries(rows: ShopWeek[]): WeekSeries {
  const sorted = [...rows].sort((a, b) => a.week.localeCompare(b.week))
  const values = Object.fromEntries(METRICS.map((metric) => [metric, [] as (number | null)[]])) as Record<
    MetricName,
    (number | null)[]
  >
  for (const row of sorted) {
    for (const metric of METRICS) {
      const value = row.result.metrics[metric]?.value ?? null
      values[metric].push(value === null ? null : metric === 'avg_response_seconds' ? round(value, 1) : round(value * 100, 1))
    }
  }
  return { weeks: sorted.map((row) => row.week), values, passed: sorted.map((row) => row.passed) }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

/** A figure as people read it: rates in percent, the average response in seconds. */
export function formatFigure(metric: MetricName, value: number | null): string {
  if (value === null) return '—'
  return metric === 'avg_response_seconds' ? `${round(value, 1)} s` : `${round(value * 100, 1)}%`
}

/** A standard as the assessment states it ("< 0.2", ">= 0.8", "< 90") in the figures' units:
 * "< 20%", "≥ 80%", "< 90 s". Anything else is shown as it came. */
export function formatStandard(metric: MetricName, text: string): string {
  const found = /^\s*(<=|>=|<|>)\s*([\d.]+)\s*$/.exec(text)
  if (!found) return text
  const op = found[1].replace('>=', '≥').replace('<=', '≤')
  const value = Number(found[2])
  return metric === 'avg_response_seconds' ? `${op} ${value} s` : `${op} ${round(value * 100, 1)}%`
}

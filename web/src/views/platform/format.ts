// What the platform console computes from the API's answers, without I/O (format.test.ts):
// the engine's spans over the original text, the pass rates of a week, times.

import type { Finding, ShopWeek } from './calls'

export interface Segment {
  text: string
  /** The categories found over this piece; empty for text between findings. */
  categories: string[]
}

/** The original text cut at the engine's findings. Positions count code points, as the
 * server's (Python) strings do, so an emoji before a finding does not shift it. */
export function highlight(text: string, findings: readonly Finding[]): Segment[] {
  const chars = Array.from(text)
  const marks: Set<string>[] = chars.map(() => new Set<string>())
  for (const finding of findings) {
    const start = Math.max(0, Math.min(chars.length, finding.start))
    const end = Math.max(start, Math.min(chars.length, finding.end))
    for (let i = start; i < end; i += 1) marks[i].add(finding.category)
  }
  const segments: Segment[] = []
  for (let i = 0; i < chars.length; i += 1) {
    const categories = [...marks[i]].sort()
    const last = segments[segments.length - 1]
    if (last && last.categories.join() === categories.join()) last.text += chars[i]
    else segments.push({ text: chars[i], categories })
  }
  return segments
}

/** The findings of a record's `evidence` (a 2.2.1 record's evidence is its run, not spans). */
export function findingsOf(evidence: unknown): Finding[] {
  if (!Array.isArray(evidence)) return []
  return evidence.filter(
    (e): e is Finding =>
      !!e && typeof e === 'object' && typeof e.start === 'number' && typeof e.end === 'number',
  )
}

/** The text a record's original holds, if any. */
export function originalText(original: Record<string, unknown> | null | undefined): string | null {
  const text = original?.text
  return typeof text === 'string' ? text : null
}

export const METRICS = [
  'no_service_rate',
  'three_minute_reply_rate',
  'avg_response_seconds',
  'dissatisfaction_rate',
] as const
export type MetricName = (typeof METRICS)[number]

export interface PassRate {
  metric: MetricName
  passed: number
  failed: number
  /** Shops without a figure (nothing to assess) count in neither. */
  unassessed: number
  /** passed / (passed + failed), or null when no shop was assessed on it. */
  rate: number | null
}

/** Per metric, how many of the week's shops passed it. */
export function passRates(rows: readonly ShopWeek[], week: string): PassRate[] {
  const ofWeek = rows.filter((row) => row.week === week)
  return METRICS.map((metric) => {
    let passed = 0
    let failed = 0
    let unassessed = 0
    for (const row of ofWeek) {
      const verdict = row.result.metrics?.[metric]?.passed
      if (verdict === true) passed += 1
      else if (verdict === false) failed += 1
      else unassessed += 1
    }
    const rate = passed + failed > 0 ? passed / (passed + failed) : null
    return { metric, passed, failed, unassessed, rate }
  })
}

/** The weeks present, newest first. */
export function weeksOf(rows: readonly ShopWeek[]): string[] {
  return [...new Set(rows.map((row) => row.week))].sort().reverse()
}

/** A metric's figure as people read it: a rate in per cent, seconds as seconds. */
export function figure(metric: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  if (metric === 'avg_response_seconds') return `${value.toFixed(1)} s`
  return `${(value * 100).toFixed(1)}%`
}

/** Unix seconds as a local date and time. */
export function when(seconds: number | null | undefined, locale: string): string {
  if (seconds === null || seconds === undefined) return '—'
  return new Date(seconds * 1000).toLocaleString(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  })
}

/** A value of the audit log's before / after, short enough for a table cell. */
export function compact(value: unknown): string {
  if (value === null || value === undefined) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** The fields whose value differs between before and after (both objects), in order. */
export function changedKeys(before: unknown, after: unknown): string[] {
  const a = before && typeof before === 'object' ? (before as Record<string, unknown>) : {}
  const b = after && typeof after === 'object' ? (after as Record<string, unknown>) : {}
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
  return keys.filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]))
}

/** A metric's standard as the assessment writes it (`< 0.20`, `>= 0.80`, `< 90`), read as
 * people do: `< 20%`, `≥ 80%`, `< 90 s`. Anything else is shown as it is. */
export function standardText(metric: string, standard: string | undefined): string {
  if (!standard) return '—'
  const found = /^\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(standard)
  if (!found) return standard
  const op = found[1] === '>=' ? '≥' : found[1] === '<=' ? '≤' : found[1]
  const value = Number(found[2])
  if (metric === 'avg_response_seconds') return `${op} ${value} s`
  return `${op} ${Number((value * 100).toFixed(1))}%`
}

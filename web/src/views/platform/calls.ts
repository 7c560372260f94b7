// The REST routes the platform console uses (docs/enforcement.md, "Routes"; /docs, tags
// "enforcement", "metrics", "platform"): the shared RestClient, so a refusal arrives as
// ApiError with the server's code and its message in the chosen language.

import { api } from '@/api'
import { currentLocale, t } from '@/i18n'
import { ApiError } from '@/protocol/rest'
import type { ConsumerRestriction, Message, Session } from '@/protocol/types'
import { useAccount } from '@/stores/account'

export type ViolationStatus = 'pending' | 'confirmed' | 'dismissed'
export type ReportStatus = 'pending' | 'counted' | 'upheld' | 'dismissed'
export type AppealStatus = 'pending' | 'upheld' | 'rejected'

/** One finding of the compliance engine: a category over `[start, end)` of the original
 * text (Python string positions: code points). */
export interface Finding {
  category: string
  start: number
  end: number
  detector: string
}

/** A violation record as reviewers read it, with the original (`GET /api/reviews/violations`). */
export interface Violation {
  id: number
  kind: 'message' | 'no_human_reply'
  shop_id: number
  session_id: number | null
  message_id: number | null
  sender_role: 'buyer' | 'agent' | 'robot' | 'robot_assist' | null
  sender_id: number | null
  categories: string[]
  clauses: string[]
  evidence: Finding[] | Record<string, unknown>
  action: 'block' | 'mask' | 'review' | string
  status: ViolationStatus
  created_at: number
  reviewed_at: number | null
  /** A message record's original (`{kind, text, …}`); a 2.2.1 record's run (`{count, …}`). */
  original: Record<string, unknown> | null
}

/** A message of a report's session; a recalled one carries its original (reviewers only). */
export interface ReportMessage extends Message {
  original?: Record<string, unknown> | null
  violation_id?: number
}

/** A shop-side report or blacklisting with its session and latest messages. */
export interface ReportEvidence {
  report: ShopReport
  session: Session | null
  messages: ReportMessage[]
}

export interface Evidence {
  violation: Violation
  session: Session | null
  /** The messages around the flagged one (a recalled one shows the notice, as stored). */
  context: Message[]
}

export interface ShopReport {
  id: number
  kind: 'report' | 'blacklist'
  session_id: number
  shop_id: number
  reporter_kind: 'member' | 'consumer' | string
  reporter_id: number | null
  reason: string
  status: ReportStatus
  created_at: number
  reviewed_by: number | null
  reviewed_at: number | null
  decision_reason: string | null
}

export interface BulkItem {
  kind: 'violation' | 'report'
  id: number
}

export interface BulkResult {
  kind: 'violation' | 'report'
  id: number
  status?: string
  error?: { code: string; message: string }
  weeks_reassessed?: string[]
}

export interface Appeal {
  id: number
  shop_id: number
  target_kind: 'violation' | 'measure'
  target_id: number
  text: string
  images: string[]
  status: AppealStatus
  filed_by: number
  filed_at: number
  decided_by: number | null
  decided_at: number | null
  decision_reason: string | null
}

export interface AppealDecided extends Appeal {
  weeks_reassessed: string[]
}

export interface ConsumerRecord {
  consumer_id: number
  restrictions: (ConsumerRestriction & { lifted_by: number | null; created_by: number | null })[]
  violations: Violation[]
}

export interface ListedSession extends Session {
  consumer_nickname?: string | null
}

export interface MetricResult {
  value: number | null
  numerator: number
  denominator: number
  standard: string
  passed: boolean | null
}

export interface ShopWeek {
  week: string
  shop_id: number
  passed: boolean | null
  result: {
    shop?: string
    sessions?: Record<string, number>
    metrics: Record<string, MetricResult>
    passed?: boolean | null
  }
}

export interface RerunResult {
  document?: { week?: string; shops?: unknown[] }
  measures?: unknown[]
}

export interface AuditEntry {
  id: number
  at: number
  actor_kind: 'staff' | 'member'
  actor_id: number
  actor_role: string
  shop_id: number | null
  action: string
  record_kind: string
  record_id: string | null
  before: unknown
  after: unknown
  ip: string | null
  user_agent: string | null
}

export interface AuditFilters {
  actor_kind?: 'staff' | 'member'
  actor_id?: number
  action?: string
  shop_id?: number
  record_kind?: string
  record_id?: string
  since?: number
  until?: number
  before_id?: number
}

export interface WebhookDelivery {
  id: number
  event_id: string
  event_type: string
  payload: Record<string, unknown>
  attempts: number
  next_attempt_at: number | null
  delivered_at: number | null
  last_error: string | null
  created_at: number
}

export interface ShopCard {
  id: number
  name: string
}

type Query = Record<string, string | number | boolean | null | undefined>

/** What a filter form holds, as query parameters: empty fields left out. */
export function cleanQuery<T extends object>(filters: T): Query {
  const out: Query = {}
  for (const [key, value] of Object.entries(filters)) {
    if (value === '' || value === null || value === undefined) continue
    out[key] = value as string | number | boolean
  }
  return out
}

export const reviews = {
  violations: (filters: Query) =>
    api.request<Violation[]>('GET', '/api/reviews/violations', { query: filters }),
  evidence: (id: number) => api.request<Evidence>('GET', `/api/reviews/violations/${id}`),
  report: (id: number) => api.request<ReportEvidence>('GET', `/api/reviews/reports/${id}`),
  reports: (filters: Query) =>
    api.request<ShopReport[]>('GET', '/api/reviews/reports', { query: filters }),
  /** One decision over violations (confirmed / dismissed) and reports (upheld / dismissed),
   * with the reason; one answer per item. */
  decide: (items: BulkItem[], decision: 'uphold' | 'dismiss', reason: string) =>
    api.request<BulkResult[]>('POST', '/api/reviews/bulk', { body: { items, decision, reason } }),
  sessionMessages: (sessionId: number, limit = 30) =>
    api.request<Message[]>('GET', `/api/sessions/${sessionId}/messages`, { query: { limit } }),
  session: (sessionId: number) => api.request<Session>('GET', `/api/sessions/${sessionId}`),
  imageUrl: (imageId: string) => api.imageUrl(imageId),
}

export const appeals = {
  list: (filters: Query) =>
    api.request<Appeal[]>('GET', '/api/enforcement/appeals', { query: filters }),
  decide: (id: number, decision: 'upheld' | 'rejected', reason: string) =>
    api.request<AppealDecided>('POST', `/api/reviews/appeals/${id}/decision`, {
      body: { decision, reason },
    }),
}

export const consumers = {
  /** Sessions of consumers whose nickname contains `query` or whose marketplace id is it. */
  search: (query: string) =>
    api.request<ListedSession[]>('GET', '/api/sessions', { query: { consumer: query, limit: 100 } }),
  record: (id: number) => api.request<ConsumerRecord>('GET', `/api/reviews/consumers/${id}`),
  lift: (restrictionId: number) =>
    api.request<ConsumerRestriction>('POST', `/api/reviews/consumer-restrictions/${restrictionId}/lift`),
}

export const assessments = {
  /** Every shop's assessed weeks, newest week first (at most 200 rows). */
  list: () => api.request<ShopWeek[]>('GET', '/api/assessments', { query: { limit: 200 } }),
  rerun: (week: string) =>
    api.request<RerunResult>('POST', `/api/platform/assessments/${encodeURIComponent(week)}/run`),
}

export const audit = {
  page: (filters: AuditFilters, limit: number) =>
    api.request<AuditEntry[]>('GET', '/api/platform/audit', {
      query: { ...cleanQuery(filters), limit },
    }),
  /** The CSV export as the server writes it: fetched with the bearer header (a token never
   * goes into a link), handed to the browser as a file. */
  async csv(filters: AuditFilters): Promise<Blob> {
    const url = api.url('/api/platform/audit/export', cleanQuery({ ...filters, before_id: undefined }))
    const headers: Record<string, string> = { 'accept-language': currentLocale() }
    const token = useAccount().token
    if (token) headers.authorization = `Bearer ${token}`
    let response: Response
    try {
      response = await fetch(url, { headers })
    } catch {
      throw new ApiError(0, 'network', t('common.errors.network'))
    }
    if (!response.ok) throw await api.errorOf(response)
    return await response.blob()
  },
}

export const webhooks = {
  list: (delivered: boolean | null) =>
    api.request<WebhookDelivery[]>('GET', '/api/platform/webhooks', {
      query: { delivered: delivered ?? undefined, limit: 200 },
    }),
}

// --- shop names: each asked once per page load --------------------------------------------

const shopNames = new Map<number, Promise<string | null>>()

export function shopName(id: number): Promise<string | null> {
  let found = shopNames.get(id)
  if (!found) {
    found = api.request<ShopCard>('GET', `/api/shops/${id}`).then(
      (card) => card.name,
      () => null,
    )
    shopNames.set(id, found)
  }
  return found
}

/** Offers the browser a file to save. */
export function download(blob: Blob, name: string): void {
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = name
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
}

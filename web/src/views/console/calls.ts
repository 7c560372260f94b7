// The REST routes the shop console calls (all public, in /docs; docs/web.md, "The shop
// console"): the knowledge base (docs/robot.md), the robot's mode (docs/protocol.md §10), the
// shop's standing and appeals (docs/enforcement.md) and the weekly assessment (docs/metrics.md).
// The same RestClient as every face, so refusals arrive as ApiError in the chosen language.

import { api } from '@/api'
import { currentLocale } from '@/i18n'
import type { RobotModeState, RobotSwitch, UploadedImage } from '@/protocol/types'
import { useAccount } from '@/stores/account'

import type { MetricName } from './model'

export interface KnowledgeEntry {
  question: string
  similar_questions: string[]
  answer: string
  category: string
  enabled: boolean
  source: 'shop' | 'platform'
  /** Defaults only: the shop has an entry with this question. */
  overridden?: boolean
}

export interface KnowledgeView {
  entries: KnowledgeEntry[]
  defaults: KnowledgeEntry[]
}

/** What the robot would answer (`POST /api/knowledge/answer`). */
export interface TryAnswer {
  answer_question: string | null
  answer: string | null
  confidence: number
  handover: boolean
  reason: 'answered' | 'below_threshold' | 'handover' | 'intercepted' | 'missing_context' | 'empty' | string
}

export interface EntryIn {
  question: string
  similar_questions: string[]
  answer: string
  category: string
  enabled: boolean
}

export interface RobotWindow {
  average_seconds: number | null
  rounds: number
  calm_since?: number | null
}

export interface RobotModeView extends RobotModeState {
  window?: RobotWindow | null
}

export interface Measure {
  id: number
  shop_id: number
  measure: string
  source_kind: string
  source_id: number | null
  details: Record<string, unknown>
  starts_at: number
  ends_at: number | null
  reversed_at: number | null
  created_at: number
  in_effect?: boolean
}

export interface Standing {
  shop_id: number
  points: number
  window_days: number
  deposit_balance: number
  refused_features: string[]
  measures_in_effect: Measure[]
}

export interface PointsEntry {
  id: number
  points: number
  category: string | null
  severity: string | null
  source_kind: string
  source_id: number | null
  reason: string | null
  created_at: number
}

export interface PointsLedger {
  total: number
  window_days: number
  entries: PointsEntry[]
}

export interface DepositEntry {
  id: number
  /** Cents: withholdings negative, reversals positive. */
  amount: number
  measure_id: number | null
  reason: string | null
  created_at: number
}

export interface DepositLedger {
  balance: number
  entries: DepositEntry[]
}

export interface Violation {
  id: number
  kind: 'message' | 'no_human_reply' | string
  shop_id: number
  session_id: number | null
  message_id: number | null
  sender_role: string | null
  categories: string[]
  clauses: string[]
  action: string
  status: 'pending' | 'confirmed' | 'dismissed'
  created_at: number
  reviewed_at: number | null
}

export interface Appeal {
  id: number
  shop_id: number
  target_kind: 'violation' | 'measure'
  target_id: number
  text: string
  images: string[]
  status: 'pending' | 'upheld' | 'rejected'
  filed_by: number
  filed_at: number
  decided_by: number | null
  decided_at: number | null
  decision_reason: string | null
}

/** A record an appeal is filed on, as the appeal dialog gets it. */
export interface AppealTarget {
  kind: 'violation' | 'measure'
  id: number
  /** What the record is, as the list shows it. */
  label: string
}

export interface Figure {
  value: number | null
  numerator: number
  denominator: number
  standard?: string
  passed?: boolean | null
}

export interface ShopWeek {
  week: string
  shop_id: number
  passed: boolean
  result: {
    sessions?: { total: number; assessed: number }
    metrics: Record<MetricName, Figure>
    passed: boolean
  }
}

export const consoleApi = {
  knowledge: () => api.request<KnowledgeView>('GET', '/api/knowledge'),
  putEntry: (entry: EntryIn) => api.request<KnowledgeEntry>('PUT', '/api/knowledge', { body: entry }),
  removeEntry: (question: string) =>
    api.request<{ ok: boolean }>('DELETE', '/api/knowledge', { query: { question } }),
  importFile: (file: File) => {
    const form = new FormData()
    form.append('file', file)
    return api.request<{ imported: number }>('POST', '/api/knowledge/import', { form })
  },

  tryAnswer: (question: string) => api.request<TryAnswer>('POST', '/api/knowledge/answer', { body: { question } }),

  robotMode: () => api.request<RobotModeView>('GET', '/api/robot/mode'),
  setRobotMode: (mode: string) => api.request<RobotModeView>('PUT', '/api/robot/mode', { body: { mode } }),
  members: () => api.request<{ id: number; display_name: string }[]>('GET', '/api/shop/members'),
  switches: () => api.request<RobotSwitch[]>('GET', '/api/robot/switches', { query: { limit: 200 } }),

  standing: () => api.request<Standing>('GET', '/api/enforcement/standing'),
  points: () => api.request<PointsLedger>('GET', '/api/enforcement/points', { query: { limit: 200 } }),
  deposit: () => api.request<DepositLedger>('GET', '/api/enforcement/deposit', { query: { limit: 200 } }),
  measures: () => api.request<Measure[]>('GET', '/api/enforcement/measures', { query: { limit: 200 } }),
  violations: () => api.request<Violation[]>('GET', '/api/violations', { query: { limit: 200 } }),
  appeals: () => api.request<Appeal[]>('GET', '/api/enforcement/appeals', { query: { limit: 200 } }),
  fileAppeal: (body: { target_kind: string; target_id: number; text: string; image_ids: string[] }) =>
    api.request<Appeal>('POST', '/api/enforcement/appeals', { body }),
  /** Evidence is an upload of the shop's into the session the record is about. */
  /** An appeal's image (`POST /api/enforcement/appeal-images`): the shop's own, in no
   * session, so every appeal can carry images. */
  uploadEvidence: (file: Blob, onProgress?: (fraction: number) => void) =>
    api.uploadAppealImage(file, onProgress) as Promise<UploadedImage>,

  assessments: () => api.request<ShopWeek[]>('GET', '/api/assessments', { query: { limit: 26 } }),
}

/** Downloads the shop's entries as a file (`GET /api/knowledge/export`): a fetch with the
 * bearer header (a token never goes in a URL), saved through an object URL. */
export async function downloadExport(format: 'csv' | 'xlsx'): Promise<void> {
  const token = useAccount().token
  const headers: Record<string, string> = { 'accept-language': currentLocale() }
  if (token) headers.authorization = `Bearer ${token}`
  const response = await fetch(api.url('/api/knowledge/export', { format }), { headers })
  if (!response.ok) throw await api.errorOf(response)
  const blob = await response.blob()
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = `knowledge.${format}`
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
}

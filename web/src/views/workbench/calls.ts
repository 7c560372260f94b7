// The REST routes the workbench uses beyond the shared client (docs: /docs, tag "reception",
// "workbench", "shop"): the same RestClient, so errors arrive as ApiError in the chosen
// language.

import { api } from '@/api'
import type { Session } from '@/protocol/types'

export type AgentStatus = 'online' | 'break' | 'offline'

export interface ListedSession extends Session {
  consumer_nickname?: string
}

export interface Colleague {
  id: number
  username: string
  display_name: string
  role: string
  status: AgentStatus
  capacity: number
  active: boolean
  /** Sessions the colleague serves now (when the server reports it). */
  open_sessions?: number
}

export interface QuickReply {
  id: number
  title: string
  content: string
  scope: 'shop' | 'personal'
}

export interface TodayFigures {
  sessions: number
  rounds: number
  /** As assessed: an open round counts at the 600 s cap "as if the day ended now". */
  average_response_seconds: number | null
  /** Over answered rounds only: what the workbench shows, open rounds beside it. */
  answered_average_seconds?: number | null
  /** Rounds still waiting for the agent's answer in open sessions. */
  open_rounds?: number
  three_minute_rate: number | null
  unanswered: number
}

export const calls = {
  setStatus: (status: AgentStatus) =>
    api.request<{ agent_id: number; status: AgentStatus; open_sessions: number }>(
      'POST',
      '/api/agent/status',
      { body: { status } },
    ),
  openSessions: (beforeId?: number) =>
    api.request<ListedSession[]>('GET', '/api/sessions', {
      query: { state: 'open', limit: 200, before_id: beforeId },
    }),
  take: (id: number) => api.request<Session>('POST', `/api/sessions/${id}/take`),
  transfer: (id: number, toAgent: number) =>
    api.request<Session>('POST', `/api/sessions/${id}/transfer`, { body: { to_agent: toAgent } }),
  close: (id: number) => api.request<Session>('POST', `/api/sessions/${id}/close`),
  report: (id: number, reason: string) =>
    api.request<Session>('POST', `/api/sessions/${id}/report`, { body: { reason } }),
  blacklist: (id: number, reason: string) =>
    api.request<Session>('POST', `/api/sessions/${id}/blacklist`, { body: { reason } }),
  colleagues: () => api.request<Colleague[]>('GET', '/api/shop/members'),
  quickReplies: (q?: string) =>
    api.request<QuickReply[]>('GET', '/api/quick-replies', { query: { q: q || undefined } }),
  addQuickReply: (title: string, content: string) =>
    api.request<QuickReply>('POST', '/api/quick-replies', {
      body: { title, content, scope: 'personal' },
    }),
  deleteQuickReply: (id: number) => api.request('DELETE', `/api/quick-replies/${id}`),
}

export const reports = {
  /** The signed-in agent's own figures today (docs/rules.md §3 (1)). */
  today: () => api.request<TodayFigures>('GET', '/api/agent/today'),
  /** The consumer's earlier sessions with this shop. */
  earlier: (sessionId: number) => api.request<Session[]>('GET', `/api/sessions/${sessionId}/earlier`),
}

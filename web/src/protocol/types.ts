// The shapes of docs/protocol.md and the REST API (/docs), as the server sends them.

export type Locale = 'zh-CN' | 'en'

export type PrincipalKind = 'staff' | 'member' | 'consumer'

export interface Principal {
  kind: PrincipalKind
  id: number
  role: string
  name: string
  shop_id: number | null
}

export interface SignIn {
  token: string
  /** Unix seconds, on the server's clock. */
  expires_at: number
  /** Seconds the token lives from its issue: what the browser counts on its own clock. */
  expires_in: number
  principal: Principal
}

/** `robot`: served by the full-auto robot, not yet handed to a person (docs/robot-modes.md). */
export type SessionState = 'queued' | 'offline' | 'assigned' | 'closed' | 'robot'

/** Why the full-auto robot handed a session to a person (docs/protocol.md, "The full-auto robot"). */
export type HandoverReason = 'requested' | 'button' | 'intercepted' | 'unanswered' | 'anger' | 'mode_changed'

/** Kept with the hand-over's system notice (`content.handover`) and sent as the `handover`
 * event: `detail` is the word that triggered it (or the unanswered count), `pending` whether
 * the buyer's last question was still unanswered (its round starts at the hand-over). */
export interface Handover {
  reason: HandoverReason
  detail: string | null
  pending: boolean
}

export interface SessionSummary {
  id: number
  state: SessionState
  last_seq: number
}

export interface Card {
  kind?: 'product_card' | 'order_card'
  [field: string]: unknown
}

export interface Session {
  id: number
  shop_id: number
  consumer_id: number
  agent_id: number | null
  state: SessionState
  entry: string | null
  entry_card: Card | null
  order_no: string | null
  opened_at: number
  closed_at: number | null
  last_seq: number
  consumer_read_seq: number
  agent_read_seq: number
  rating: number | null
  invalid: boolean
  /** Counts the row's changes: of two views of one session, the later wins
   * (`SessionVersions`). */
  version: number
  /** The consumer's place in the shop's queue (1 = next), while queued; else null. */
  queue_position?: number | null
}

/** A shop's public card (`GET /api/shops/{id}`); `blocked` and `last_session_id` are
 * there for a consumer only. */
export interface ShopCard {
  id: number
  name: string
  online: boolean
  blocked?: boolean
  last_session_id?: number | null
}

export interface UploadedImage {
  id: string
  content_type: string
  size: number
  width: number
  height: number
  /** Uploads to a shop (an image as the first message) name the session they opened. */
  session_id?: number
}

/** `recalled`: a message withdrawn for a rule violation (docs/enforcement.md); its content
 * is the notice (`text`, `text_en`, `recalled_at`), never the original. */
export type MessageKind = 'text' | 'image' | 'product_card' | 'order_card' | 'recalled'

export interface Message {
  id: number
  session_id: number
  seq: number
  sender_role: 'buyer' | 'agent' | 'robot_assist' | 'robot' | 'system'
  sender_id: number | null
  kind: MessageKind
  content: Record<string, unknown>
  client_id: string | null
  created_at: number
}

export interface Ready {
  op: 'ready'
  principal: Principal
  sessions: SessionSummary[]
  sessions_more: boolean
  heartbeat: number
}

export interface Ack {
  op: 'ack'
  client_id: string
  message_id: number
  session_id: number
  seq: number
  created_at: number
  duplicate: boolean
  message: Message
}

export interface ErrorFrame {
  op: 'error'
  code: string
  message: string
  ref?: string
  for?: string
  params?: Record<string, unknown>
  retry_after?: number
}

export type ServerEvent =
  | { type: 'message'; message: Message }
  | { type: 'session'; change: string; session: Session }
  | { type: 'read'; session_id: number; reader: 'consumer' | 'member'; seq: number }
  | { type: 'typing'; session_id: number; who: 'consumer' | 'member'; id: number }
  | { type: 'agent_status'; agent_id: number; status: 'online' | 'break' | 'offline' }
  | { type: 'waiting_removed'; session_id: number }
  | { type: 'violation'; id: number; shop_id: number }
  | { type: 'revoked'; account: string; version: number; reason: string }
  /** Several nodes: events may have been lost; re-fetch what is not a message (§3). */
  | { type: 'resync'; since: number | null }
  | ({ type: 'robot_mode'; switch: RobotSwitch } & RobotModeState)
  | { type: 'suggestions'; session_id: number; seq: number; message_id: number; suggestions: Suggestion[] }
  | {
      type: 'no_human_reply_alert'
      shop_id: number
      violation_id: number
      count: number
      sessions: string[]
      at: number
    }
  | { type: 'recalled'; session_id: number; message_id: number; seq: number; message: Message }
  | { type: 'notification'; notification: ShopNotification }
  | { type: 'notifications_read'; ids: number[] | null; unread: number }
  | { type: 'account_restricted'; restriction: ConsumerRestriction }
  | { type: 'account_restriction_lifted'; restriction: ConsumerRestriction }
  | { type: 'restrictions'; change: 'started' | 'ended' | 'reversed'; measure: Measure; restrictions: ShopRestrictions }
  | ({ type: 'handover'; session_id: number; shop_id: number; at: number; session: Session } & Handover)

// --- enforcement (docs/enforcement.md, docs/protocol.md §12) ---------------------------------

/** A consumer's mute or ban (rules 4.2). Times are Unix seconds. */
export interface ConsumerRestriction {
  id: number
  consumer_id: number
  kind: 'mute' | 'ban'
  violation_id: number | null
  reason: string
  starts_at: number
  /** null for a ban (until a reviewer lifts it). */
  ends_at: number | null
  lifted_at: number | null
  in_effect: boolean
}

export type MeasureName =
  | 'warning'
  | 'restriction'
  | 'robot_forced'
  | 'deposit_withholding'
  | 'points_deduction'
  | 'order_close'

/** A measure imposed on a shop; a restriction's `details.features` are what it refuses. */
export interface Measure {
  id: number
  shop_id: number
  measure: MeasureName
  source_kind: string
  source_id: number | null
  details: { features?: RestrictedFeature[]; [key: string]: unknown }
  starts_at: number
  ends_at: number | null
  reversed_at: number | null
  created_at: number
  in_effect?: boolean
}

export type RestrictedFeature = 'image' | 'card'

/** `GET /api/enforcement/standing` (the shop's owners and managers). */
export interface Standing {
  shop_id: number
  points: number
  window_days: number
  deposit_balance: number
  refused_features: RestrictedFeature[]
  measures_in_effect: Measure[]
}

export type NotificationKind =
  | 'measure'
  | 'measure_reversed'
  | 'violation_decided'
  | 'report_decided'
  | 'appeal_decided'
  | 'no_human_reply'
  | 'measure_ended'
  | 'robot_switched_on'

/** `GET /api/enforcement/restrictions` and the live `restrictions` event: what restricts the
 * shop now, for every member of it. Times are Unix seconds. */
export interface ShopRestrictions {
  shop_id: number
  refused_features: RestrictedFeature[]
  /** Each refused feature: when the last restriction refusing it ends. */
  holds: Partial<Record<RestrictedFeature, number>>
  robot_forced_until: number | null
  measures: Measure[]
}

/** `GET /api/me/standing`: a consumer's own standing (rules 4.2). */
export interface ConsumerStanding {
  consumer_id: number
  state: 'ok' | 'muted' | 'banned'
  restriction: {
    id: number
    kind: 'mute' | 'ban'
    starts_at: number
    ends_at: number | null
    categories: string[]
  } | null
  appeal: { text: string; text_en: string }
}

/** A row of the shop's inbox (`GET /api/enforcement/inbox`, the live `notification`). */
export interface ShopNotification {
  id: number
  shop_id: number
  kind: NotificationKind
  body: Record<string, unknown>
  created_at: number
  read_at: number | null
}

/** One of the assist robot's suggested answers (docs/protocol.md §13). */
export interface Suggestion {
  /** The knowledge entry's standard question. */
  question: string
  answer: string
  /** Calibrated, 0..1. */
  confidence: number
}

/** The robot's mode of a shop (docs/protocol.md, "The robot's mode"). */
export type RobotModeName = 'off' | 'assist' | 'full_auto'

export interface RobotModeState {
  shop_id: number
  /** What runs: the shop's choice, raised to assist while the rule holds it on. */
  mode: RobotModeName
  manual_mode: RobotModeName
  /** The automatic switch (rule 2.2.1) holds assist on: it cannot be turned off. */
  rule_on: boolean
  rule_since: number | null
  updated_at: number | null
  /** An enforcement measure forces assist on until then (Unix s); it cannot be turned off. */
  forced_until?: number | null
}

export interface RobotSwitch {
  id: number
  shop_id: number
  at: number
  cause: 'rule' | 'hand'
  member_id: number | null
  mode_before: RobotModeName
  mode_after: RobotModeName
  rule_on: boolean
  average_seconds: number | null
  rounds: number | null
}

export type ServerFrame =
  | Ready
  | Ack
  | ErrorFrame
  | ({ op: 'event' } & ServerEvent)
  | { op: 'resumed'; count: number; more: boolean }
  | { op: 'pong'; ts: number }

/** Where a send goes: an open session, or (consumers) a shop, which opens one if needed. */
export type SendTarget =
  | { session_id: number; suggestion?: string }
  | { shop_id: number; entry?: string; entry_card?: Card }

export interface SendFrame {
  op: 'send'
  client_id: string
  kind: MessageKind
  content: Record<string, unknown>
  session_id?: number
  shop_id?: number
  entry?: string
  entry_card?: Card
}

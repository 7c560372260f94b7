import type { Session } from './types'

/** For tests: a session view as the server sends it (an assigned session of shop 1), with
 * what the test names changed. */
export function sessionView(changes: Partial<Session> = {}): Session {
  return {
    id: 1,
    shop_id: 1,
    consumer_id: 1,
    agent_id: 2,
    state: 'assigned',
    entry: null,
    entry_card: null,
    order_no: null,
    opened_at: 1,
    closed_at: null,
    last_seq: 0,
    consumer_read_seq: 0,
    agent_read_seq: 0,
    rating: null,
    invalid: false,
    version: 0,
    ...changes,
  }
}

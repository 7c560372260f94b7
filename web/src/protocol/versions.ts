import type { Session } from './types'

/**
 * Events about one session that two of the server's nodes publish can arrive in either
 * order, and a REST answer can be older than an event heard while it was on its way
 * (docs/protocol.md, "session"). Each view carries the row's `version`; a client keeps the
 * newest it has heard of, also for a session it has let go of (transferred away, closed),
 * so that an older view cannot bring it back.
 */
export class SessionVersions {
  private readonly newest = new Map<number, number>()

  /** False for a view older than one already taken; otherwise it is remembered. */
  take(view: Pick<Session, 'id' | 'version'>): boolean {
    const seen = this.newest.get(view.id)
    if (seen !== undefined && view.version < seen) return false
    this.newest.set(view.id, view.version)
    return true
  }
}

/** The view over the held session, but the seqs, which only rise: message and read events
 * may have moved them past what the view says. */
export function mergeSession<T extends Session>(held: T, view: Session): T {
  return {
    ...held,
    ...view,
    last_seq: Math.max(held.last_seq, view.last_seq),
    consumer_read_seq: Math.max(held.consumer_read_seq, view.consumer_read_seq),
    agent_read_seq: Math.max(held.agent_read_seq, view.agent_read_seq),
  }
}

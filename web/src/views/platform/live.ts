// What the console hears on its socket while a page is open: platform staff get `violation`,
// `report` and `appeal` events (docs/protocol.md §3, §12). The shell counts
// what arrived since each page last loaded; a page offers to load again rather than
// reshuffling the list a reviewer is working through.

import { inject, reactive, type InjectionKey } from 'vue'

export interface Live {
  /** New violation records and shop-side reports since the queue loaded. */
  queue: number
  /** New appeals since the appeals page loaded. */
  appeals: number
  /** The server said events may have been lost (a `resync`, docs/protocol.md §3) since the
   * page loaded: the counts above may be short, so the page offers to load again. */
  queueMaybeMissed: boolean
  appealsMaybeMissed: boolean
}

export const LIVE: InjectionKey<Live> = Symbol('platform-live')

export function newLive(): Live {
  return reactive({ queue: 0, appeals: 0, queueMaybeMissed: false, appealsMaybeMissed: false })
}

/** A staff event heard on the socket. */
export function hear(live: Live, type: string): void {
  if (type === 'violation' || type === 'report') live.queue += 1
  else if (type === 'appeal') live.appeals += 1
}

/** The socket's `refetch`: after a resync, what arrived meanwhile is unknown. (A new
 * connection's refetch needs nothing here: each page loads when it opens.) */
export function refetched(live: Live, cause: 'connected' | 'resync'): void {
  if (cause !== 'resync') return
  live.queueMaybeMissed = true
  live.appealsMaybeMissed = true
}

/** The shell's counters, or a private set when a page is shown without the shell (tests). */
export function useLive(): Live {
  return inject(LIVE, null) ?? newLive()
}

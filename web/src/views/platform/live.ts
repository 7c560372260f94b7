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
}

export const LIVE: InjectionKey<Live> = Symbol('platform-live')

export function newLive(): Live {
  return reactive({ queue: 0, appeals: 0 })
}

/** The shell's counters, or a private set when a page is shown without the shell (tests). */
export function useLive(): Live {
  return inject(LIVE, null) ?? newLive()
}

import { describe, expect, it } from 'vitest'

import { hear, newLive, refetched } from './live'

describe('the console counts what arrived since a page loaded', () => {
  it('counts staff events by page', () => {
    const live = newLive()
    for (const type of ['violation', 'report', 'appeal', 'message']) hear(live, type)
    expect([live.queue, live.appeals]).toEqual([2, 1])
  })

  it('after a resync the pages may have missed records, after a new connection not', () => {
    const live = newLive()
    refetched(live, 'connected')
    expect([live.queueMaybeMissed, live.appealsMaybeMissed]).toEqual([false, false])
    refetched(live, 'resync')
    expect([live.queueMaybeMissed, live.appealsMaybeMissed]).toEqual([true, true])
  })
})

import { describe, expect, it } from 'vitest'

import type { SignIn } from '@/protocol/types'

import { keep, stillValid } from './account'

const principal = { kind: 'member', id: 3, role: 'agent', name: '小红' } as unknown as SignIn['principal']

describe('a sign-in counted on the browser clock', () => {
  it('stays valid for its lifetime however far the server clock is from the browser', () => {
    const browserNow = Date.UTC(2026, 10, 30, 15, 0)
    // The server's clock is 13 hours behind: its expires_at is already past for the browser.
    const serverNow = browserNow / 1000 - 13 * 3600
    const result: SignIn = {
      token: 't',
      expires_at: serverNow + 8 * 3600,
      expires_in: 8 * 3600,
      principal,
    }
    const kept = keep(result, browserNow)
    expect(stillValid(kept, browserNow)).toBe(true)
    expect(stillValid(kept, browserNow + 8 * 3600 * 1000 - 1)).toBe(true)
    expect(stillValid(kept, browserNow + 8 * 3600 * 1000)).toBe(false)
  })

  it('drops a kept sign-in from before this field existed', () => {
    const old = { token: 't', expires_at: 2e9, principal } as unknown as Parameters<typeof stillValid>[0]
    expect(stillValid(old)).toBe(false)
    expect(stillValid(null)).toBe(false)
  })
})

// The signed-in account. The token lives in sessionStorage: it survives a reload, stays in
// its own tab (an agent can hold two accounts in two tabs) and is gone when the tab closes,
// which suits shared shop computers.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import type { Principal, SignIn } from '@/protocol/types'

const STORAGE_KEY = 'feige.signin'

export type Face = 'chat' | 'workbench' | 'platform'

/** A sign-in as this tab keeps it: when it ends, on the browser's own clock (ms). The
 * server's `expires_at` is on the server's clock, which a shop computer's may be hours off;
 * the lifetime (`expires_in`) counted from when the answer arrived is not. */
export interface KeptSignIn extends SignIn {
  ends_at_local: number
}

export function keep(result: SignIn, receivedAt: number = Date.now()): KeptSignIn {
  return { ...result, ends_at_local: receivedAt + result.expires_in * 1000 }
}

export function stillValid(value: KeptSignIn | null, now: number = Date.now()): boolean {
  return value !== null && typeof value.ends_at_local === 'number' && value.ends_at_local > now
}

function stored(): KeptSignIn | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as KeptSignIn | null
    return stillValid(value) ? value : null
  } catch {
    return null
  }
}

export const useAccount = defineStore('account', () => {
  const signIn = ref<KeptSignIn | null>(stored())
  /** Why the last sign-in ended (an API or socket code), for the sign-in page to say. */
  const endedBecause = ref<string | null>(null)
  let expiryTimer: ReturnType<typeof setTimeout> | null = null

  const token = computed(() => signIn.value?.token ?? null)
  const principal = computed<Principal | null>(() => signIn.value?.principal ?? null)
  const face = computed<Face | null>(() => {
    if (!principal.value) return null
    if (principal.value.kind === 'consumer') return 'chat'
    // Platform staff (reviewers, admins) have the platform console (docs/web.md).
    return principal.value.kind === 'staff' ? 'platform' : 'workbench'
  })

  function watchExpiry(): void {
    if (expiryTimer) clearTimeout(expiryTimer)
    expiryTimer = null
    if (!signIn.value) return
    // setTimeout holds at most ~24.8 days; tokens live far less.
    const left = Math.min(signIn.value.ends_at_local - Date.now(), 2 ** 31 - 1)
    expiryTimer = setTimeout(() => signOut('token_expired'), Math.max(0, left))
  }

  function signedIn(result: SignIn): void {
    const kept = keep(result)
    signIn.value = kept
    endedBecause.value = null
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(kept))
    watchExpiry()
  }

  /** Ends the sign-in on this tab; `reason` is kept for the sign-in page. */
  function signOut(reason: string | null = null): void {
    if (!signIn.value) return
    signIn.value = null
    endedBecause.value = reason
    sessionStorage.removeItem(STORAGE_KEY)
    watchExpiry()
  }

  watchExpiry()
  return { token, principal, face, endedBecause, signedIn, signOut }
})

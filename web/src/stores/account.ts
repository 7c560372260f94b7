// The signed-in account. The token lives in sessionStorage: it survives a reload, stays in
// its own tab (an agent can hold two accounts in two tabs) and is gone when the tab closes,
// which suits shared shop computers.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import type { Principal, SignIn } from '@/protocol/types'

const STORAGE_KEY = 'feige.signin'

export type Face = 'chat' | 'workbench' | 'platform'

function stored(): SignIn | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as SignIn | null
    return value && value.expires_at * 1000 > Date.now() ? value : null
  } catch {
    return null
  }
}

export const useAccount = defineStore('account', () => {
  const signIn = ref<SignIn | null>(stored())
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
    const left = Math.min(signIn.value.expires_at * 1000 - Date.now(), 2 ** 31 - 1)
    expiryTimer = setTimeout(() => signOut('token_expired'), Math.max(0, left))
  }

  function signedIn(result: SignIn): void {
    signIn.value = result
    endedBecause.value = null
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(result))
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

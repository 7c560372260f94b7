// The marketplace hands its signed-in user to the chat window in the address's fragment
// (`/chat?shop=1#uid=…&nick=…&ts=…&sig=…`, see docs/web.md "Embedding the chat"): a
// fragment never reaches any server, log or Referer. The window trades it for a consumer
// token (POST /api/integration/consumer-token) and drops it from the address at once.

import { api } from '@/api'
import { useAccount } from '@/stores/account'

import type { Handover } from './entry'

/** Signs the tab in as the handed-over consumer; false when the server refused it (the
 * reason is kept for the sign-in page). */
export async function signInWithHandover(handover: Handover): Promise<boolean> {
  const account = useAccount()
  try {
    account.signedIn(await api.request('POST', '/api/integration/consumer-token', { body: handover }))
    return true
  } catch {
    account.signOut()
    account.endedBecause = 'handover_refused'
    return false
  }
}

// The protocol clients bound to this app: the signed-in account's token, the chosen
// language, and sign-out when the server ends the sign-in. Both faces use these.

import { currentLocale, t } from '@/i18n'
import { RestClient } from '@/protocol/rest'
import { FeigeSocket } from '@/protocol/socket'
import { useAccount } from '@/stores/account'

export const api = new RestClient({
  token: () => useAccount().token,
  locale: currentLocale,
  fallback: () => ({
    network: t('common.errors.network'),
    invalid: t('common.errors.invalid'),
    unknown: t('common.errors.unknown'),
  }),
  onSignedOut: (error) => useAccount().signOut(error.code),
})

/** A socket for the signed-in account; `stop()` it when the face unmounts. */
export function openSocket(): FeigeSocket {
  const socket = new FeigeSocket({ token: () => useAccount().token, locale: currentLocale })
  socket.on('signedOut', (code) => useAccount().signOut(code))
  socket.start()
  return socket
}

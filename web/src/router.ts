// `/` is the sign-in page; each face is its own lazily loaded chunk. Deep links under a
// face (`/workbench/…`) open that face; the server answers index.html for all of them.

import { createRouter, createWebHistory, type RouteLocationRaw } from 'vue-router'

import { useAccount, type Face } from '@/stores/account'
import { parseHandover } from '@/views/chat/entry'
import { signInWithHandover } from '@/views/chat/handover'
import { platformRoutes } from '@/views/platform/routes'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'login', component: () => import('@/views/login/LoginView.vue') },
    {
      path: '/chat/:rest(.*)*',
      name: 'chat',
      component: () => import('@/views/chat'),
      meta: { face: 'chat' },
    },
    {
      path: '/workbench/:rest(.*)*',
      name: 'workbench',
      component: () => import('@/views/workbench'),
      meta: { face: 'workbench' },
    },
    platformRoutes,
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

export function faceRoute(face: Face): RouteLocationRaw {
  return { name: face }
}

// Where to go after signing in: the link that sent the visitor to the sign-in page, when it
// belongs to the face the account signs into (a consumer following a shop's `/chat?shop=…`
// link lands on that chat); otherwise the face's start.
export function afterSignIn(face: Face, next: unknown): RouteLocationRaw {
  const start = `/${face}`
  if (typeof next !== 'string') return faceRoute(face)
  if (next === start || next.startsWith(`${start}/`) || next.startsWith(`${start}?`)) return next
  return faceRoute(face)
}

// A marketplace hands its user to the chat in the fragment (docs/web.md, "Embedding the
// chat"): signed in first, and the fragment leaves the address.
router.beforeEach(async (to) => {
  const handover = to.name === 'chat' ? parseHandover(to.hash) : null
  if (!handover) return true
  if (!(await signInWithHandover(handover))) return { name: 'login' }
  return { ...to, hash: '', replace: true }
})

router.beforeEach((to) => {
  const account = useAccount()
  const wanted = to.meta.face as Face | undefined
  if (to.name === 'login') return account.face ? faceRoute(account.face) : true
  if (wanted && account.face !== wanted) {
    return account.face ? faceRoute(account.face) : { name: 'login', query: { next: to.fullPath } }
  }
  return true
})

// The platform console's pages (docs/web.md, "The platform console"). This table is all the
// entry chunk holds of the console: the shell and the review queue load as the face's chunk
// (views/platform/index.ts), every other page as a chunk of its own when first opened.

import type { RouteLocationRaw, RouteRecordRaw } from 'vue-router'

import { useAccount } from '@/stores/account'

const face = () => import('@/views/platform')

/** A reviewer following a link to an admin's page lands on the queue. */
function adminOnly(): true | RouteLocationRaw {
  return useAccount().principal?.role === 'admin' ? true : { name: 'platform-queue' }
}

export const PLATFORM_PAGES = ['queue', 'appeals', 'consumers', 'assessments', 'audit', 'webhooks'] as const
export type PlatformPage = (typeof PLATFORM_PAGES)[number]
/** Pages only platform admins may open (the API refuses reviewers there too). */
export const ADMIN_PAGES: readonly PlatformPage[] = ['audit', 'webhooks']

export const platformRoutes: RouteRecordRaw = {
  path: '/platform',
  component: () => face().then((module) => module.default),
  meta: { face: 'platform' },
  children: [
    { path: '', name: 'platform', redirect: { name: 'platform-queue' } },
    {
      path: 'queue',
      name: 'platform-queue',
      component: () => face().then((module) => module.ReviewQueue),
    },
    {
      path: 'appeals',
      name: 'platform-appeals',
      component: () => import('@/views/platform/AppealsPage.vue'),
    },
    {
      path: 'consumers/:id(\\d+)?',
      name: 'platform-consumers',
      component: () => import('@/views/platform/ConsumersPage.vue'),
    },
    {
      path: 'assessments',
      name: 'platform-assessments',
      component: () => import('@/views/platform/AssessmentsPage.vue'),
    },
    {
      path: 'audit',
      name: 'platform-audit',
      component: () => import('@/views/platform/AuditPage.vue'),
      beforeEnter: adminOnly,
    },
    {
      path: 'webhooks',
      name: 'platform-webhooks',
      component: () => import('@/views/platform/WebhooksPage.vue'),
      beforeEnter: adminOnly,
    },
    { path: ':rest(.*)*', redirect: { name: 'platform-queue' } },
  ],
}

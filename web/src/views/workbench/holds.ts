// What a restricted shop may not send (docs/enforcement.md): pure, tested without a browser.

import type { RestrictedFeature, ShopRestrictions, Standing } from '@/protocol/types'

/** A feature the shop may not use while a measure is in effect: until when (Unix ms). */
export type FeatureHolds = Partial<Record<RestrictedFeature, number>>

/** The features the standing's measures in effect refuse, each until its latest end. */
export function holdsOfStanding(standing: Standing): FeatureHolds {
  const holds: FeatureHolds = {}
  for (const measure of standing.measures_in_effect) {
    if (measure.ends_at === null) continue
    for (const feature of measure.details.features ?? []) {
      holds[feature] = Math.max(holds[feature] ?? 0, measure.ends_at * 1000)
    }
  }
  return holds
}

/** The features the shop's restrictions refuse now (`GET /api/enforcement/restrictions`, the
 * live `restrictions` event), each until its latest end. */
export function holdsOfRestrictions(restrictions: ShopRestrictions): FeatureHolds {
  const holds: FeatureHolds = {}
  for (const [feature, until] of Object.entries(restrictions.holds) as [RestrictedFeature, number][]) {
    holds[feature] = until * 1000
  }
  return holds
}

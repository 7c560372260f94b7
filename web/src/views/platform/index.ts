// The platform console's entry (its own chunk): its text joins the i18n messages when the
// chunk loads, and the review queue, the page it opens on, comes in the same chunk.
import '@/i18n/platform'

export { default } from './PlatformView.vue'
export { default as ReviewQueue } from './ReviewQueue.vue'

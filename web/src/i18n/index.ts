// One i18n instance. The shared text is here from the start; each face adds its own when its
// chunk loads (addFaceMessages), so neither face's text weighs on the other's first load.

import { createI18n } from 'vue-i18n'

import type { Locale } from '@/protocol/types'

import enCommon from './en/common'
import zhCommon from './zh-CN/common'

export const LOCALES: readonly Locale[] = ['zh-CN', 'en']
const STORAGE_KEY = 'feige.locale'

function initialLocale(): Locale {
  const stored = localStorage.getItem(STORAGE_KEY)
  return LOCALES.find((locale) => locale === stored) ?? 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: {
    'zh-CN': { common: zhCommon },
    en: { common: enCommon },
  },
})

document.documentElement.lang = i18n.global.locale.value

export function currentLocale(): Locale {
  return i18n.global.locale.value as Locale
}

/** The user's choice, kept for the next visit; the API and the socket speak it too. */
export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(STORAGE_KEY, locale)
  document.documentElement.lang = locale
}

export function addFaceMessages(face: string, messages: Record<Locale, object>): void {
  for (const locale of LOCALES) {
    i18n.global.mergeLocaleMessage(locale, { [face]: messages[locale] })
  }
}

export const t = i18n.global.t

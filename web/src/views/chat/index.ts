// The chat face's entry: its text joins the i18n messages when its chunk loads.
import en from '@/i18n/en/chat'
import zhCN from '@/i18n/zh-CN/chat'
import { addFaceMessages } from '@/i18n'

addFaceMessages('chat', { 'zh-CN': zhCN, en })

export { default } from './ChatView.vue'

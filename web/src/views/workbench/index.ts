// The workbench face's entry: its text joins the i18n messages when its chunk loads.
import en from '@/i18n/en/workbench'
import zhCN from '@/i18n/zh-CN/workbench'
import { addFaceMessages } from '@/i18n'

addFaceMessages('workbench', { 'zh-CN': zhCN, en })

export { default } from './WorkbenchView.vue'

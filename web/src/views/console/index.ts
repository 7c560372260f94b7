// The shop console's entry (owners and managers): its text joins the i18n messages when its
// chunk loads, with the workbench's, whose notification inbox the console reuses.
import consoleMessages from '@/i18n/console'
import en from '@/i18n/en/workbench'
import zhCN from '@/i18n/zh-CN/workbench'
import { addFaceMessages } from '@/i18n'

addFaceMessages('workbench', { 'zh-CN': zhCN, en })
addFaceMessages('console', consoleMessages)

export { default } from './ConsoleView.vue'

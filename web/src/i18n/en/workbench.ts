import type zhCN from '../zh-CN/workbench'

const en: typeof zhCN = {
  title: 'Agent workbench',
  placeholder: 'The workbench is on its way.',
}

export default en

import type zhCN from '../zh-CN/chat'

const en: typeof zhCN = {
  title: 'Chat with the shop',
  placeholder: 'The chat window is on its way.',
}

export default en

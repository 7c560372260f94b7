// The consumer chat window's text (web/src/views/chat/).
export default {
  title: '在线咨询',
  placeholder: '聊天窗口即将上线。',
}

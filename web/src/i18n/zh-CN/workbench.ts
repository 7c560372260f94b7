// The agent workbench's text (web/src/views/workbench/).
export default {
  title: '客服工作台',
  placeholder: '工作台即将上线。',
}

// Text both faces and the sign-in page share. The faces' own text lives in chat.ts and
// workbench.ts beside this file.
export default {
  app: {
    name: '飞鸽客服',
    tagline: '电商平台客服即时通讯',
    pitch: '一个工作台接待所有店铺的咨询：实时消息、排队分配、服务考核，每句话都在平台规则之内。',
    points: ['消息必达：断线重连后不丢失、不重复', '合规把关：违规内容拦截并说明原因', '服务考核：3 分钟响应率等指标实时可见'],
  },
  header: {
    language: '语言',
    signOut: '退出登录',
  },
  languages: { 'zh-CN': '简体中文', en: 'English' },
  login: {
    title: '登录飞鸽',
    staffTab: '商家 / 平台员工',
    consumerTab: '消费者',
    member: '商家客服',
    staff: '平台员工',
    username: '账号',
    usernamePlaceholder: '请输入账号',
    password: '密码',
    passwordPlaceholder: '请输入密码',
    submit: '登录',
    consumerHint: '消费者一般从商城的商品页或订单页进入咨询。演示平台可以用演示买家身份直接进入。',
    externalId: '买家编号',
    externalIdPlaceholder: '例如 buyer1',
    nickname: '昵称（可选）',
    consumerSubmit: '以买家身份进入',
    previewBuyer: '你好，这件外套有黑色 M 码吗？',
    previewAgent: '亲，有现货的，今天 16 点前下单当天发货哦～',
    required: '请填写{field}',
    footer: '飞鸽 · 自托管电商客服平台',
  },
  connection: {
    connecting: '正在连接…',
    open: '已连接',
    waiting: '连接已断开，正在重连…',
    signed_out: '登录已失效',
    stopped: '未连接',
  },
  signedOut: {
    token_expired: '登录已过期，请重新登录。',
    token_revoked: '您已在其他地方退出或账号已变更，请重新登录。',
    unauthenticated: '请先登录。',
    other: '登录已失效，请重新登录。',
  },
  errors: {
    network: '无法连接服务器，请检查网络后重试。',
    invalid: '填写的内容有误，请检查后重试。',
    unknown: '服务器出了点问题，请稍后再试。',
  },
}

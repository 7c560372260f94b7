import type zhCN from '../zh-CN/common'

const en: typeof zhCN = {
  app: {
    name: 'Feige',
    tagline: 'Customer-service messaging for marketplaces',
    pitch: 'One workbench for every shop\'s customers: live chat, queues and routing, service figures, and every word within the platform\'s rules.',
    points: ['Nothing lost or doubled across reconnects', 'Compliance checks that say why a message was blocked', 'Live service figures such as the 3-minute response rate'],
  },
  header: {
    language: 'Language',
    signOut: 'Sign out',
  },
  languages: { 'zh-CN': '简体中文', en: 'English' },
  login: {
    title: 'Sign in to Feige',
    staffTab: 'Shops and platform staff',
    consumerTab: 'Shoppers',
    member: 'Shop member',
    staff: 'Platform staff',
    username: 'Username',
    usernamePlaceholder: 'Your username',
    password: 'Password',
    passwordPlaceholder: 'Your password',
    submit: 'Sign in',
    consumerHint: 'Shoppers usually open a chat from a product or order page of the marketplace. On a demo platform you can enter as a demo shopper.',
    externalId: 'Shopper id',
    externalIdPlaceholder: 'e.g. buyer1',
    nickname: 'Nickname (optional)',
    consumerSubmit: 'Enter as a shopper',
    previewBuyer: 'Hi, is this jacket available in black, size M?',
    previewAgent: 'Yes, in stock! Order before 4 pm and it ships today.',
    required: 'Please fill in {field}',
    footer: 'Feige · self-hosted customer service for marketplaces',
  },
  connection: {
    connecting: 'Connecting…',
    open: 'Connected',
    waiting: 'Disconnected, reconnecting…',
    signed_out: 'Signed out',
    stopped: 'Not connected',
  },
  signedOut: {
    token_expired: 'Your sign-in has expired. Please sign in again.',
    token_revoked: 'You were signed out elsewhere or your account changed. Please sign in again.',
    unauthenticated: 'Please sign in first.',
    other: 'Your sign-in is no longer valid. Please sign in again.',
  },
  errors: {
    network: 'Cannot reach the server. Check the network and try again.',
    invalid: 'Something in the form is not right. Please check it and try again.',
    unknown: 'Something went wrong on the server. Please try again later.',
  },
}

export default en

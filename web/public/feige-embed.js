// feige-embed.js: opens the Feige chat window on a marketplace's page, in a frame
// (docs/web.md, "Embedding the chat"). The marketplace's server signs its user
// (HMAC-SHA256 of "uid\nnick\nts" with the platform secret); the signature travels in the
// frame address's fragment, which the browser never sends to any server.
//
//   <script src="https://feige.example.com/feige-embed.js"></script>
//   FeigeChat.open({
//     shop: 1,
//     product: { id: 'P1001', title: '羊毛大衣', price: '399.00', image: 'https://img.shop.example/1.jpg' },
//     // or order: { no: '2025…', title: '…', amount: '399.00', status: '已发货' }
//     user: { uid: 'u123', nick: '小李', ts: 1764400000, sig: '…' },  // or a function returning
//   })                                                                // (a promise of) one
;(() => {
  const script = document.currentScript
  const origin = new URL(script ? script.src : '/', window.location.href).origin
  let panel = null

  function chatAddress(options, user) {
    const query = new URLSearchParams({ shop: String(options.shop) })
    const product = options.product
    const order = options.order
    if (product) {
      query.set('product', product.id)
      for (const [key, value] of [['title', product.title], ['price', product.price], ['image', product.image]]) {
        if (value) query.set(key, String(value))
      }
    } else if (order) {
      query.set('order', order.no)
      for (const [key, value] of [['title', order.title], ['amount', order.amount], ['status', order.status]]) {
        if (value) query.set(key, String(value))
      }
    }
    const hand = new URLSearchParams({ uid: user.uid, nick: user.nick || '', ts: String(user.ts), sig: user.sig })
    return `${origin}/chat?${query}#${hand}`
  }

  function close() {
    if (panel) panel.remove()
    panel = null
  }

  async function open(options) {
    const user = typeof options.user === 'function' ? await options.user() : options.user
    close()
    const phone = window.matchMedia('(max-width: 600px)').matches
    panel = document.createElement('div')
    panel.setAttribute('data-feige-chat', '')
    Object.assign(panel.style, {
      position: 'fixed',
      zIndex: '2147483000',
      background: '#fff',
      display: 'flex',
      flexDirection: 'column',
      boxShadow: '0 12px 40px rgba(0,0,0,.18)',
      overflow: 'hidden',
      ...(phone
        ? { inset: '0', borderRadius: '0' }
        : { right: '20px', bottom: '20px', width: '400px', height: 'min(680px, calc(100vh - 40px))', borderRadius: '14px' }),
    })
    const bar = document.createElement('div')
    Object.assign(bar.style, { display: 'flex', justifyContent: 'flex-end', background: '#f4f5f7', flex: 'none' })
    const button = document.createElement('button')
    button.type = 'button'
    button.textContent = '×'
    button.setAttribute('aria-label', options.closeLabel || '关闭')
    Object.assign(button.style, { border: '0', background: 'none', fontSize: '22px', lineHeight: '28px', width: '36px', cursor: 'pointer', color: '#646a73' })
    button.addEventListener('click', close)
    bar.appendChild(button)
    const frame = document.createElement('iframe')
    frame.title = options.title || '在线客服'
    frame.src = chatAddress(options, user)
    frame.referrerPolicy = 'no-referrer'
    Object.assign(frame.style, { border: '0', width: '100%', flex: '1' })
    panel.append(bar, frame)
    document.body.appendChild(panel)
    return frame
  }

  window.FeigeChat = { open, close }
})()

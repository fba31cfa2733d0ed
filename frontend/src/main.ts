import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'element-plus/theme-chalk/dark/css-vars.css'
import './styles.css'
import App from './App.vue'
import { createAppRouter } from './router'
import { createClient, SubscriptionsKey, TransportKey } from './transport'
import { notifyWarning } from './utils/notify'
import { useThemeStore } from './stores/theme'

// No favicon file is served (the backend answers 404 for asset paths it does not have, which a
// browser logs as an error on every load): declare an inline icon before the page finishes loading.
if (!document.querySelector('link[rel~="icon"]')) {
  const icon = document.createElement('link')
  icon.rel = 'icon'
  icon.href =
    'data:image/svg+xml,' +
    encodeURIComponent(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#409eff"/>' +
        '<path d="M2 9h3l2-5 2 8 2-3h3" fill="none" stroke="#fff" stroke-width="1.6"/></svg>',
    )
  document.head.appendChild(icon)
}

// The client is made first: it takes the token out of the URL fragment before the router reads it.
const { transport, subscriptions } = createClient((event, ack) => {
  notifyWarning(`${event}: ${ack.message} [${ack.code}]`)
})

const app = createApp(App)
app.provide(TransportKey, transport)
app.provide(SubscriptionsKey, subscriptions)
const pinia = createPinia()
app.use(pinia)
app.use(createAppRouter())
useThemeStore(pinia)
app.mount('#app')

import { onScopeDispose } from 'vue'
import { onEvent, useSubscriptions, useTransport } from '@/transport'
import { useServersStore } from '@/stores/servers'

/** Lifecycle transitions of every server into the servers store, while the caller lives. */
export function useServerStatusFeed(): void {
  const transport = useTransport()
  const subs = useSubscriptions()
  const store = useServersStore()
  const off = onEvent(transport, 'server-status-changed', (ev) => store.applyStatus(ev))
  const handle = subs.subscribe({ type: 'status' })
  onScopeDispose(() => {
    off()
    handle.release()
  })
}

import { onScopeDispose, watch, type Ref } from 'vue'
import { onEvent, useSubscriptions, useTransport, type SubscriptionHandle } from '@/transport'
import { useServersStore } from '@/stores/servers'

export const LIST_METRICS_INTERVAL = 2000

/** Subscribes the metrics of the servers in `ids` (the visible rows), diffing as the set changes. */
export function useServerListMetrics(ids: Ref<readonly string[]>, interval = LIST_METRICS_INTERVAL): void {
  const transport = useTransport()
  const subs = useSubscriptions()
  const store = useServersStore()
  const handles = new Map<string, SubscriptionHandle>()

  const off = onEvent(transport, 'process:info', (ev) => {
    if (handles.has(ev.serverId) && ev.processInfo) store.pushMetrics(ev.serverId, ev.processInfo)
  })

  watch(
    ids,
    (next) => {
      const want = new Set(next)
      for (const [id, h] of handles) {
        if (!want.has(id)) {
          h.release()
          handles.delete(id)
        }
      }
      for (const id of want) {
        if (!handles.has(id)) handles.set(id, subs.subscribe({ type: 'metrics', serverId: id, interval }))
      }
    },
    { immediate: true },
  )

  onScopeDispose(() => {
    off()
    for (const h of handles.values()) h.release()
    handles.clear()
  })
}

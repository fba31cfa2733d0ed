import { onScopeDispose, ref, shallowRef, watch, type Ref } from 'vue'
import type { MCPView, ServerHealthChangedEvent } from '@/models/types'
import { errorMessage } from '@/models/errors'
import { onEvent, useSubscriptions, useTransport } from '@/transport'

/**
 * A server's MCP side (GET /mcp), kept current: health from server-health-changed (servers-status
 * room), the whole view reloaded when the server (re)starts, stops or (re)connects.
 */
export function useServerMCP(serverId: Ref<string>) {
  const transport = useTransport()
  const subs = useSubscriptions()
  const view = shallowRef<MCPView | null>(null)
  const loading = ref(false)
  const probing = ref(false)
  const error = ref('')
  let generation = 0

  async function load(): Promise<void> {
    const gen = ++generation
    loading.value = true
    try {
      const v = await transport.api.getMCP(serverId.value)
      if (gen !== generation) return
      view.value = v
      error.value = ''
    } catch (e) {
      if (gen === generation) error.value = errorMessage(e)
    } finally {
      if (gen === generation) loading.value = false
    }
  }

  async function probe(): Promise<void> {
    probing.value = true
    try {
      view.value = await transport.api.probeMCP(serverId.value)
      error.value = ''
    } catch (e) {
      error.value = errorMessage(e)
    } finally {
      probing.value = false
    }
  }

  function onHealth(ev: ServerHealthChangedEvent) {
    if (ev.serverId !== serverId.value) return
    const v = view.value
    const reconnected = !v || v.status !== 'ready' || (ev.serverInfo && ev.serverInfo.name !== v.serverInfo?.name)
    if (v) {
      view.value = {
        ...v,
        health: { healthy: ev.healthy, latencyMs: ev.latencyMs, checkedAt: ev.timestamp, error: ev.error },
      }
    }
    if (reconnected || ev.healthy !== v?.health?.healthy) void load()
  }

  const offs = [
    onEvent(transport, 'server-health-changed', onHealth),
    onEvent(transport, 'server-status-changed', (ev) => {
      if (ev.serverId === serverId.value && ev.status !== 'starting' && ev.status !== 'stopping') void load()
    }),
  ]
  const handle = subs.subscribe({ type: 'status' })
  watch(serverId, () => {
    view.value = null
    void load()
  }, { immediate: true })
  onScopeDispose(() => {
    for (const off of offs) off()
    handle.release()
    generation++
  })

  return { view, loading, probing, error, load, probe }
}

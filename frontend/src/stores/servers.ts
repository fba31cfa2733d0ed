import { defineStore } from 'pinia'
import { computed, ref, shallowRef, triggerRef } from 'vue'
import type { ProcessInfo, ServerDef, ServerState, ServerStatusChangedEvent, ServerView } from '@/models/types'
import { useTransport } from '@/transport'
import { createFlusher } from '@/utils/flusher'

export type ServerAction = 'start' | 'stop' | 'restart'

/** Latest sample of a server and a short history for the list's sparklines. */
export interface LiveMetrics {
  info: ProcessInfo
  cpu: number[]
  rss: number[]
}

export const SPARK_POINTS = 30

/** States after which a process no longer exists: its live numbers go away. */
const GONE: ServerState['status'][] = ['stopped', 'crashed', 'backoff']

export const useServersStore = defineStore('servers', () => {
  const transport = useTransport()
  const servers = ref<ServerView[]>([])
  const loaded = ref(false)
  const loading = ref(false)
  const loadError = ref('')
  /** id → action in flight, to disable buttons */
  const busy = ref<Record<string, ServerAction | 'save' | 'delete'>>({})

  /**
   * id → status events applied so far. A lifecycle reply is a snapshot taken when the backend
   * answered; the server-status-changed of a later transition (starting → running) can arrive over
   * the socket before that reply, which must then not put the older state back.
   */
  const statusEvents = new Map<string, number>()

  const byId = computed(() => new Map(servers.value.map((s) => [s.id, s])))

  async function load(): Promise<void> {
    loading.value = true
    try {
      const list = await transport.api.listServers()
      list.sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id))
      servers.value = list
      loaded.value = true
      loadError.value = ''
    } catch (e) {
      loadError.value = (e as Error).message
      throw e
    } finally {
      loading.value = false
    }
  }

  function upsert(v: ServerView): void {
    const i = servers.value.findIndex((s) => s.id === v.id)
    if (i >= 0) servers.value[i] = v
    else servers.value.push(v)
  }

  async function fetchOne(id: string): Promise<ServerView> {
    const v = await transport.api.getServer(id)
    upsert(v)
    return v
  }

  function setState(id: string, state: ServerState): void {
    const s = servers.value.find((x) => x.id === id)
    if (s) s.state = state
    if (GONE.includes(state.status)) dropLive(id)
  }

  /** Applies a server-status-changed event; an unknown id means a server was added elsewhere. */
  function applyStatus(ev: ServerStatusChangedEvent): void {
    statusEvents.set(ev.serverId, (statusEvents.get(ev.serverId) ?? 0) + 1)
    const s = servers.value.find((x) => x.id === ev.serverId)
    if (!s) {
      if (loaded.value) void fetchOne(ev.serverId).catch(() => undefined)
      return
    }
    const prev = s.state
    const next: ServerState = {
      ...prev,
      status: ev.status,
      restartCount: ev.restartCount ?? prev.restartCount,
      error: ev.error,
    }
    if (ev.status === 'running' || ev.status === 'starting') {
      if (ev.pid) next.pid = ev.pid
      if (ev.status === 'running' && prev.status !== 'running') {
        next.startedAt = ev.timestamp
        next.uptime = 0
      }
    }
    if (GONE.includes(ev.status)) {
      next.pid = undefined
      next.startedAt = undefined
      next.uptime = undefined
      if (ev.exitCode !== undefined || ev.signal !== undefined || ev.error) {
        next.lastExit = { code: ev.exitCode, signal: ev.signal, time: ev.timestamp, error: ev.error }
      }
    }
    s.state = next
    if (GONE.includes(ev.status)) dropLive(ev.serverId)
  }

  async function act(id: string, action: ServerAction): Promise<void> {
    busy.value = { ...busy.value, [id]: action }
    try {
      const fn =
        action === 'start' ? transport.api.startServer : action === 'stop' ? transport.api.stopServer : transport.api.restartServer
      const seen = statusEvents.get(id) ?? 0
      const res = await fn(id)
      // A status event during the call is at least as new as the reply; every later transition
      // brings its own event, so the reply is only needed when no event came.
      if (res?.state && (statusEvents.get(id) ?? 0) === seen) setState(id, res.state)
    } finally {
      const { [id]: _, ...rest } = busy.value
      busy.value = rest
    }
  }

  async function create(def: Partial<ServerDef>): Promise<ServerView> {
    const v = await transport.api.createServer(def)
    upsert(v)
    return v
  }

  async function update(id: string, def: ServerDef): Promise<ServerView> {
    const v = await transport.api.updateServer(id, def)
    if (v.id !== id) servers.value = servers.value.filter((s) => s.id !== id)
    upsert(v)
    return v
  }

  async function remove(id: string): Promise<void> {
    await transport.api.deleteServer(id)
    servers.value = servers.value.filter((s) => s.id !== id)
    dropLive(id)
  }

  // ---- live metrics: high rate, kept out of deep reactivity, flushed once per frame ----
  const live = shallowRef(new Map<string, LiveMetrics>())
  let pending = new Map<string, ProcessInfo[]>()
  const flusher = createFlusher(() => {
    const m = live.value
    for (const [id, infos] of pending) {
      const cur = m.get(id)
      // new arrays each flush: the sparklines compare by reference
      m.set(id, {
        info: infos[infos.length - 1],
        cpu: [...(cur?.cpu ?? []), ...infos.map((i) => i.cpu)].slice(-SPARK_POINTS),
        rss: [...(cur?.rss ?? []), ...infos.map((i) => i.memory?.rss ?? 0)].slice(-SPARK_POINTS),
      })
    }
    pending = new Map()
    triggerRef(live)
  })

  function pushMetrics(serverId: string, info: ProcessInfo): void {
    const list = pending.get(serverId)
    if (list) list.push(info)
    else pending.set(serverId, [info])
    flusher.schedule()
  }

  function flushMetrics(): void {
    flusher.flush()
  }

  function dropLive(id: string): void {
    pending.delete(id)
    if (live.value.delete(id)) triggerRef(live)
  }

  return {
    servers,
    loaded,
    loading,
    loadError,
    busy,
    byId,
    load,
    fetchOne,
    upsert,
    setState,
    applyStatus,
    act,
    create,
    update,
    remove,
    live,
    pushMetrics,
    flushMetrics,
    dropLive,
  }
})

import { onScopeDispose, ref, shallowRef, watch, type Ref } from 'vue'
import type { ProcessInfo } from '@/models/types'
import { onEvent, useSubscriptions, useTransport, type SubscriptionHandle } from '@/transport'
import { createFlusher } from '@/utils/flusher'
import { isoToSeconds, TimeSeries } from '@/utils/series'

export const PROCESS_METRICS_INTERVAL = 2000
const HISTORY_MS = 60 * 60 * 1000

function row(p: ProcessInfo): number[] {
  return [isoToSeconds(p.timestamp), p.cpu ?? 0, p.memory?.rss ?? 0]
}

/**
 * CPU % and RSS of one server: the stored last hour (REST) first, then live samples.
 * `data` is [x (s), cpu %, rss bytes] columns for uPlot; `version` changes on every flush.
 */
export function useProcessMetrics(serverId: Ref<string>, interval = PROCESS_METRICS_INTERVAL) {
  const transport = useTransport()
  const subs = useSubscriptions()
  const series = new TimeSeries(2, Math.ceil(HISTORY_MS / 1000) + 600)
  const data = shallowRef<number[][]>(series.toColumns())
  const latest = shallowRef<ProcessInfo | null>(null)
  const loadingHistory = ref(false)
  const historyError = ref('')
  let pending: ProcessInfo[] = []
  let handle: SubscriptionHandle | null = null
  let generation = 0

  const flusher = createFlusher(() => {
    if (pending.length) {
      const batch = pending
      pending = []
      series.add(batch.map(row))
      latest.value = batch[batch.length - 1]
    }
    data.value = series.toColumns()
  })

  const off = onEvent(transport, 'process:info', (ev) => {
    if (ev.serverId !== serverId.value || !ev.processInfo) return
    pending.push(ev.processInfo)
    flusher.schedule()
  })

  async function loadHistory(id: string, gen: number) {
    loadingHistory.value = true
    historyError.value = ''
    try {
      const since = new Date(Date.now() - HISTORY_MS).toISOString()
      const samples = await transport.api.metricsHistory(id, since)
      if (gen !== generation) return
      series.add(samples.map(row))
      if (!latest.value && samples.length) latest.value = samples[samples.length - 1]
      flusher.schedule()
    } catch (e) {
      if (gen === generation) historyError.value = (e as Error).message
    } finally {
      if (gen === generation) loadingHistory.value = false
    }
  }

  watch(
    serverId,
    (id) => {
      generation++
      series.clear()
      pending = []
      latest.value = null
      data.value = series.toColumns()
      const sub = { type: 'metrics', serverId: id, interval } as const
      if (handle) handle.update(sub)
      else handle = subs.subscribe(sub)
      void loadHistory(id, generation)
    },
    { immediate: true },
  )

  onScopeDispose(() => {
    off()
    handle?.release()
    flusher.cancel()
  })

  return { data, latest, loadingHistory, historyError }
}

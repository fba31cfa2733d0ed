import { onScopeDispose, shallowRef } from 'vue'
import type { SystemMetrics } from '@/models/types'
import { onEvent, useSubscriptions, useTransport } from '@/transport'
import { createFlusher } from '@/utils/flusher'
import { isoToSeconds, TimeSeries } from '@/utils/series'

export const SYSTEM_METRICS_INTERVAL = 2000

function row(m: SystemMetrics): number[] {
  return [isoToSeconds(m.timestamp), m.cpu, m.memory?.used ?? 0]
}

/** Host CPU %, memory and load: one REST sample at once, then live; [x, cpu %, used bytes] columns. */
export function useSystemMetrics(interval = SYSTEM_METRICS_INTERVAL) {
  const transport = useTransport()
  const subs = useSubscriptions()
  const series = new TimeSeries(2, 1800)
  const data = shallowRef<number[][]>(series.toColumns())
  const latest = shallowRef<SystemMetrics | null>(null)
  let pending: SystemMetrics[] = []

  const flusher = createFlusher(() => {
    if (!pending.length) return
    const batch = pending
    pending = []
    series.add(batch.map(row))
    // The REST sample and the first live one can arrive in either order: show the newest.
    for (const m of batch) {
      if (!latest.value || isoToSeconds(m.timestamp) >= isoToSeconds(latest.value.timestamp)) latest.value = m
    }
    data.value = series.toColumns()
  })

  function accept(m: SystemMetrics) {
    pending.push(m)
    flusher.schedule()
  }

  const off = onEvent(transport, 'system-metrics-update', accept)
  const handle = subs.subscribe({ type: 'system', interval })
  transport.api.systemMetrics().then(accept, () => undefined)

  onScopeDispose(() => {
    off()
    handle.release()
    flusher.cancel()
  })

  return { data, latest }
}

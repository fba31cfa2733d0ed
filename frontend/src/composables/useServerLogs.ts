import { onScopeDispose, ref, shallowRef, watch, type Ref } from 'vue'
import type { LogData, LogLevel, ProcessLogsDroppedEvent } from '@/models/types'
import { onEvent, useSubscriptions, useTransport, type SubscriptionHandle } from '@/transport'
import { createFlusher } from '@/utils/flusher'
import { DEFAULT_LOG_CAP, LogBuffer } from '@/utils/logBuffer'

export const LOG_TAIL = 500
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export function levelAtLeast(l: LogLevel, min: LogLevel): boolean {
  return (RANK[l] ?? 1) >= RANK[min]
}

export interface DroppedSummary {
  count: number
  fromSeq: number
  toSeq: number
  events: number
}

/**
 * Live tail of one server's logs: subscribe-server-logs (tail 500, batch) filtered on the server by
 * `level`; process:logs and process:logs:batch both accepted, deduplicated by seq, at most `cap`
 * entries kept. While paused new entries wait aside and are added on resume.
 */
export function useServerLogs(
  serverId: Ref<string>,
  level: Ref<LogLevel>,
  cap = DEFAULT_LOG_CAP,
  /** Show stream 'protocol' (every JSON-RPC message with the MCP server); hidden when false/absent. */
  showProtocol?: Ref<boolean>,
) {
  const transport = useTransport()
  const subs = useSubscriptions()
  const buffer = new LogBuffer(cap)
  /** bumped after each change of `buffer` */
  const version = shallowRef(0)
  const paused = ref(false)
  const held = ref(0)
  const dropped = ref<DroppedSummary | null>(null)
  let incoming: LogData[] = []
  let waiting: LogData[] = []
  let handle: SubscriptionHandle | null = null

  const flusher = createFlusher(() => {
    if (!incoming.length) return
    const batch = incoming
    incoming = []
    if (paused.value) {
      // concat, not push(...batch): a burst can bring more entries than a call takes arguments
      waiting = waiting.concat(batch)
      if (waiting.length > cap) waiting = waiting.slice(-cap)
      held.value = waiting.length
      return
    }
    if (buffer.push(batch) > 0) version.value++
  })

  function accept(id: string, entries: LogData[] | undefined) {
    if (id !== serverId.value || !entries?.length) return
    const min = level.value
    const protocol = !!showProtocol?.value
    for (const e of entries) {
      if (e && levelAtLeast(e.level, min) && (protocol || e.metadata?.stream !== 'protocol')) incoming.push(e)
    }
    flusher.schedule()
  }

  const offs = [
    onEvent(transport, 'process:logs', (ev) => accept(ev.serverId, ev.logData ? [ev.logData] : undefined)),
    onEvent(transport, 'process:logs:batch', (ev) => accept(ev.serverId, ev.entries)),
    onEvent(transport, 'process:logs:dropped', (ev: ProcessLogsDroppedEvent) => {
      if (ev.serverId !== serverId.value) return
      const d = dropped.value
      dropped.value = d
        ? { count: d.count + ev.count, fromSeq: Math.min(d.fromSeq, ev.fromSeq), toSeq: Math.max(d.toSeq, ev.toSeq), events: d.events + 1 }
        : { count: ev.count, fromSeq: ev.fromSeq, toSeq: ev.toSeq, events: 1 }
    }),
  ]

  function reset() {
    buffer.clear()
    incoming = []
    waiting = []
    held.value = 0
    dropped.value = null
    flusher.cancel()
    version.value++
  }

  watch(
    [serverId, level, () => !!showProtocol?.value],
    ([id, lvl, proto], old) => {
      reset()
      const sub = { type: 'logs', serverId: id, level: lvl, tail: LOG_TAIL, batch: true } as const
      if (handle && old && old[2] !== proto && old[0] === id && old[1] === lvl) {
        // Same room and filter: leave and join again so that the server replays the tail.
        handle.release()
        handle = subs.subscribe(sub)
      } else if (handle) handle.update(sub)
      else handle = subs.subscribe(sub)
    },
    { immediate: true },
  )

  function pause() {
    paused.value = true
  }

  function resume() {
    flusher.flush()
    paused.value = false
    if (waiting.length) {
      buffer.push(waiting)
      waiting = []
      held.value = 0
      version.value++
    }
  }

  function clear() {
    buffer.clear()
    waiting = []
    held.value = 0
    version.value++
  }

  function dismissDropped() {
    dropped.value = null
  }

  onScopeDispose(() => {
    for (const off of offs) off()
    handle?.release()
    flusher.cancel()
  })

  return { buffer, version, paused, held, dropped, pause, resume, clear, dismissDropped, flush: () => flusher.flush() }
}

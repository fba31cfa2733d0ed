import { beforeEach, describe, expect, it } from 'vitest'
import { nextTick, ref } from 'vue'
import type { LogLevel, ProcessInfo } from '@/models/types'
import { useServerLogs } from '@/composables/useServerLogs'
import { useServerListMetrics } from '@/composables/useServerListMetrics'
import { useProcessMetrics } from '@/composables/useProcessMetrics'
import { useServerStatusFeed } from '@/composables/useServerStatusFeed'
import { useSystemMetrics } from '@/composables/useSystemMetrics'
import { FakeTransport } from '@/transport/fake'
import { useServersStore } from '@/stores/servers'
import { log, makeCtx, tick, withSetup, type Ctx } from './helpers'

let ctx: Ctx
beforeEach(() => {
  ctx = makeCtx()
})

function info(cpu: number, ts: string): ProcessInfo {
  return { pid: 7, cpu, memory: { rss: cpu * 1000, heapUsed: 0, heapTotal: 0, external: 0 }, uptime: 1, timestamp: ts }
}

describe('useServerLogs', () => {
  it('subscribes with tail 500 and batch, takes both event kinds, dedupes by seq', () => {
    const level = ref<LogLevel>('debug')
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), level))
    expect(ctx.transport.emitted[0]).toEqual({
      event: 'subscribe-server-logs',
      payload: { serverId: 'w', level: 'debug', tail: 500, batch: true },
    })
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(1), log(2), log(3)] })
    ctx.transport.serverEmit('process:logs', { serverId: 'w', timestamp: 't', logData: log(3) })
    ctx.transport.serverEmit('process:logs', { serverId: 'w', timestamp: 't', logData: log(4) })
    ctx.transport.serverEmit('process:logs', { serverId: 'other', timestamp: 't', logData: log(5) })
    logs.flush()
    expect(logs.buffer.all().map((e) => e.metadata.seq)).toEqual([1, 2, 3, 4])
    expect(logs.version.value).toBeGreaterThan(0)
    unmount()
  })

  it('re-subscribes with the new level, clearing what it had', async () => {
    const level = ref<LogLevel>('debug')
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), level))
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(1, 'x', 'debug')] })
    logs.flush()
    level.value = 'warn'
    await nextTick()
    expect(logs.buffer.length).toBe(0)
    const subs = ctx.transport.emittedEvents('subscribe-server-logs')
    expect(subs.at(-1)?.payload).toMatchObject({ serverId: 'w', level: 'warn' })
    // a late line of the old filter is not shown
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(2, 'd', 'debug'), log(3, 'e', 'error')] })
    logs.flush()
    expect(logs.buffer.all().map((e) => e.level)).toEqual(['error'])
    unmount()
  })

  it('holds lines while paused and adds them on resume', () => {
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), ref<LogLevel>('debug')))
    logs.pause()
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(1), log(2)] })
    logs.flush()
    expect(logs.buffer.length).toBe(0)
    expect(logs.held.value).toBe(2)
    logs.resume()
    expect(logs.buffer.length).toBe(2)
    expect(logs.held.value).toBe(0)
    unmount()
  })

  it('holds a burst larger than a call takes arguments while paused, at most cap of it', () => {
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), ref<LogLevel>('debug'), 50_000))
    logs.pause()
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: Array.from({ length: 300_000 }, (_, i) => log(i)) })
    logs.flush()
    expect(logs.held.value).toBe(50_000)
    logs.resume()
    expect(logs.buffer.length).toBe(50_000)
    expect(logs.buffer.at(0)?.metadata.seq).toBe(250_000)
    unmount()
  })

  it('caps the buffer', () => {
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), ref<LogLevel>('debug'), 100))
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: Array.from({ length: 250 }, (_, i) => log(i)) })
    logs.flush()
    expect(logs.buffer.length).toBe(100)
    expect(logs.buffer.at(0)?.metadata.seq).toBe(150)
    unmount()
  })

  it('sums dropped notices', () => {
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), ref<LogLevel>('debug')))
    ctx.transport.serverEmit('process:logs:dropped', { serverId: 'w', count: 10, fromSeq: 5, toSeq: 14, timestamp: 't' })
    ctx.transport.serverEmit('process:logs:dropped', { serverId: 'w', count: 5, fromSeq: 20, toSeq: 24, timestamp: 't' })
    expect(logs.dropped.value).toEqual({ count: 15, fromSeq: 5, toSeq: 24, events: 2 })
    unmount()
  })

  it('removes its listeners and leaves the room when unmounted', () => {
    const { unmount } = withSetup(ctx, () => useServerLogs(ref('w'), ref<LogLevel>('debug')))
    expect(ctx.transport.listenerCount()).toBe(3)
    unmount()
    expect(ctx.transport.listenerCount()).toBe(0)
    expect(ctx.transport.emitted.at(-1)).toEqual({ event: 'unsubscribe', payload: { room: 'server-logs-w' } })
    expect(ctx.subs.activeRooms()).toEqual([])
  })

  it('subscribes again after a reconnect; the replay is deduplicated', () => {
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), ref<LogLevel>('debug')))
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(1), log(2)] })
    logs.flush()
    ctx.transport.disconnect()
    ctx.transport.reconnect()
    expect(ctx.transport.emittedEvents('subscribe-server-logs')).toHaveLength(2)
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(1), log(2), log(3)] })
    logs.flush()
    expect(logs.buffer.all().map((e) => e.metadata.seq)).toEqual([1, 2, 3])
    unmount()
  })
})

describe('useServerListMetrics', () => {
  it('subscribes the visible servers at 2000 ms and follows the set', async () => {
    const ids = ref<string[]>(['a', 'b'])
    const { unmount } = withSetup(ctx, () => useServerListMetrics(ids))
    expect(ctx.transport.emittedEvents('subscribe-server-metrics').map((e) => e.payload)).toEqual([
      { serverId: 'a', interval: 2000 },
      { serverId: 'b', interval: 2000 },
    ])
    ids.value = ['b', 'c']
    await nextTick()
    expect(ctx.transport.emittedEvents('unsubscribe').map((e) => e.payload)).toEqual([{ room: 'server-metrics-a' }])
    expect(ctx.transport.emittedEvents('subscribe-server-metrics')).toHaveLength(3)
    ctx.transport.serverEmit('process:info', { serverId: 'c', timestamp: 't', processInfo: info(5, '2024-01-01T00:00:00Z') })
    const store = useServersStore()
    store.flushMetrics()
    expect(store.live.get('c')?.info.cpu).toBe(5)
    unmount()
    expect(ctx.transport.listenerCount()).toBe(0)
    expect(ctx.subs.activeRooms()).toEqual([])
  })
})

describe('useProcessMetrics', () => {
  it('opens with the stored history, then adds live samples', async () => {
    const t = new FakeTransport({
      metricsHistory: async () => [info(1, '2024-01-01T00:00:00Z'), info(2, '2024-01-01T00:00:02Z')],
    })
    ctx = makeCtx(t)
    const { result: m, unmount } = withSetup(ctx, () => useProcessMetrics(ref('w')))
    // a live sample arrives before the history answer
    t.serverEmit('process:info', { serverId: 'w', timestamp: 't', processInfo: info(3, '2024-01-01T00:00:04Z') })
    await tick()
    await new Promise((r) => setTimeout(r, 150))
    expect(m.data.value[1]).toEqual([1, 2, 3])
    expect(m.data.value[2]).toEqual([1000, 2000, 3000])
    expect(m.latest.value?.cpu).toBe(3)
    unmount()
    expect(t.listenerCount()).toBe(0)
  })
})

describe('useSystemMetrics and useServerStatusFeed', () => {
  it('subscribe and clean up', async () => {
    const a = withSetup(ctx, () => useSystemMetrics())
    const b = withSetup(ctx, () => useServerStatusFeed())
    expect(ctx.transport.emittedEvents('subscribe-system-metrics')[0].payload).toEqual({ interval: 2000 })
    expect(ctx.transport.emittedEvents('subscribe-server-status')).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 150))
    expect(a.result.latest.value?.cpu).toBe(10)
    a.unmount()
    b.unmount()
    expect(ctx.transport.listenerCount()).toBe(0)
    expect(ctx.subs.activeRooms()).toEqual([])
  })
})

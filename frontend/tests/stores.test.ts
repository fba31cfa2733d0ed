import { beforeEach, describe, expect, it, vi } from 'vitest'
import { emptyServerDef, type ServerView } from '@/models/types'
import { useServersStore } from '@/stores/servers'
import { useSettingsStore } from '@/stores/settings'
import { THEME_STORAGE_KEY, useThemeStore } from '@/stores/theme'
import { makeCtx, type Ctx } from './helpers'

function server(id: string, status: ServerView['state']['status'] = 'stopped'): ServerView {
  return { ...emptyServerDef(), id, name: id.toUpperCase(), command: 'node', state: { status, restartCount: 0, restarts: 0 } }
}

let ctx: Ctx
beforeEach(() => {
  localStorage.clear()
  ctx = makeCtx()
  ctx.transport.servers = [server('b'), server('a', 'running')]
})

describe('servers store', () => {
  it('loads the list sorted by name', async () => {
    const s = useServersStore()
    await s.load()
    expect(s.servers.map((x) => x.id)).toEqual(['a', 'b'])
    expect(s.loaded).toBe(true)
    expect(s.byId.get('b')?.state.status).toBe('stopped')
  })

  it('applies status transitions, with pid, start time and last exit', async () => {
    const s = useServersStore()
    await s.load()
    s.applyStatus({ serverId: 'b', status: 'running', previousStatus: 'starting', pid: 42, restartCount: 1, timestamp: '2024-01-01T00:00:00Z' })
    expect(s.byId.get('b')?.state).toMatchObject({ status: 'running', pid: 42, restartCount: 1, startedAt: '2024-01-01T00:00:00Z' })
    s.applyStatus({ serverId: 'b', status: 'crashed', previousStatus: 'running', exitCode: 1, restartCount: 1, timestamp: '2024-01-01T00:01:00Z' })
    const st = s.byId.get('b')!.state
    expect(st.status).toBe('crashed')
    expect(st.pid).toBeUndefined()
    expect(st.lastExit).toEqual({ code: 1, signal: undefined, time: '2024-01-01T00:01:00Z', error: undefined })
  })

  it('fetches a server it does not know when its status changes', async () => {
    const s = useServersStore()
    await s.load()
    ctx.transport.servers.push(server('c'))
    s.applyStatus({ serverId: 'c', status: 'starting', previousStatus: 'stopped', restartCount: 0, timestamp: 't' })
    await vi.waitFor(() => expect(s.byId.has('c')).toBe(true))
  })

  it('runs lifecycle actions and takes the returned state', async () => {
    const s = useServersStore()
    await s.load()
    const p = s.act('b', 'start')
    expect(s.busy.b).toBe('start')
    await p
    expect(s.busy.b).toBeUndefined()
    expect(s.byId.get('b')?.state.status).toBe('starting')
  })

  it('keeps live metrics with a short history, flushed in batches, dropped when the process ends', async () => {
    const s = useServersStore()
    await s.load()
    for (let i = 0; i < 40; i++) {
      s.pushMetrics('a', { pid: 1, cpu: i, memory: { rss: i * 10, heapUsed: 0, heapTotal: 0, external: 0 }, uptime: i, timestamp: 't' })
    }
    expect(s.live.get('a')).toBeUndefined()
    s.flushMetrics()
    const m = s.live.get('a')!
    expect(m.info.cpu).toBe(39)
    expect(m.cpu).toHaveLength(30)
    expect(m.rss[29]).toBe(390)
    s.applyStatus({ serverId: 'a', status: 'stopped', previousStatus: 'stopping', restartCount: 0, timestamp: 't' })
    expect(s.live.get('a')).toBeUndefined()
  })

  it('creates, updates and removes', async () => {
    const s = useServersStore()
    await s.load()
    await s.create({ ...emptyServerDef(), id: 'n', name: 'N', command: 'x' })
    expect(s.byId.has('n')).toBe(true)
    await s.update('n', { ...emptyServerDef(), id: 'n', name: 'New', command: 'y' })
    expect(s.byId.get('n')?.name).toBe('New')
    await s.remove('n')
    expect(s.byId.has('n')).toBe(false)
  })
})

describe('settings store', () => {
  it('loads, and a regenerated token is handed to the transport', async () => {
    const st = useSettingsStore()
    await st.load()
    expect(st.data?.settings.port).toBe(3001)
    expect(st.token).toBe('test-token')
    const setToken = vi.spyOn(ctx.transport, 'setToken')
    await st.regenerateToken()
    expect(setToken).toHaveBeenCalledWith('new-token')
    expect(st.token).toBe('new-token')
  })
})

describe('theme store', () => {
  it('follows the OS until chosen, then keeps the choice in localStorage', () => {
    const t = useThemeStore()
    expect(t.choice).toBe('')
    t.adoptServerTheme('dark')
    expect(t.dark).toBe(true)
    t.set('light')
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('light')
    t.adoptServerTheme('dark')
    expect(t.dark).toBe(false)
  })
})

import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '@/models/errors'
import { FakeTransport } from '@/transport/fake'
import { createRestApi, logQueryParams } from '@/transport/rest'
import { extractToken, TOKEN_STORAGE_KEY } from '@/transport/token'
import { createWailsTransport, isWails, type WailsWindow } from '@/transport/wails'

function memStorage(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init))
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m }
}

describe('extractToken', () => {
  it('takes the token from the fragment, stores it and clears the address bar', () => {
    const storage = memStorage()
    const hist = { state: null, replaceState: vi.fn() }
    const t = extractToken({ hash: '#token=abc123', pathname: '/servers/x', search: '?tab=logs' }, storage, hist)
    expect(t).toBe('abc123')
    expect(storage.m.get(TOKEN_STORAGE_KEY)).toBe('abc123')
    expect(hist.replaceState).toHaveBeenCalledWith(null, '', '/servers/x?tab=logs')
  })
  it('falls back to the stored token', () => {
    const storage = memStorage({ [TOKEN_STORAGE_KEY]: 'kept' })
    const hist = { state: null, replaceState: vi.fn() }
    expect(extractToken({ hash: '', pathname: '/', search: '' }, storage, hist)).toBe('kept')
    expect(hist.replaceState).not.toHaveBeenCalled()
  })
})

describe('FakeTransport listeners', () => {
  it('removes a handler with the function on() returns', () => {
    const t = new FakeTransport()
    const h = vi.fn()
    const off = t.on('process:info', h)
    t.serverEmit('process:info', { serverId: 'a' })
    off()
    t.serverEmit('process:info', { serverId: 'a' })
    expect(h).toHaveBeenCalledTimes(1)
    expect(t.listenerCount()).toBe(0)
  })
})

describe('REST api', () => {
  function api(respond: (url: string, init: RequestInit) => Response) {
    const calls: { url: string; init: RequestInit }[] = []
    const fetchImpl = (async (url: string, init: RequestInit) => {
      calls.push({ url, init })
      return respond(url, init)
    }) as unknown as typeof fetch
    return { calls, api: createRestApi({ base: '/api/v1', getToken: () => 'tok', fetchImpl }) }
  }

  it('sends the bearer token and unwraps lists', async () => {
    const { calls, api: a } = api(() => new Response(JSON.stringify({ servers: [{ id: 'a' }] }), { status: 200 }))
    expect(await a.listServers()).toEqual([{ id: 'a' }])
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer tok')
    expect(calls[0].url).toBe('/api/v1/servers')
  })

  it('turns { error } bodies into ApiError with code, message and status', async () => {
    const { api: a } = api(
      () => new Response(JSON.stringify({ error: { code: 'INVALID', message: 'command: must not be empty' } }), { status: 400 }),
    )
    const err = await a.createServer({ name: 'x' }).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'INVALID', message: 'command: must not be empty', status: 400 })
  })

  it('handles 204 and builds log queries', async () => {
    const { calls, api: a } = api((url) => (url.includes('/logs') ? new Response(JSON.stringify({ entries: [] })) : new Response(null, { status: 204 })))
    await a.deleteServer('a b')
    expect(calls[0].url).toBe('/api/v1/servers/a%20b')
    expect(calls[0].init.method).toBe('DELETE')
    await a.queryLogs('w', { q: '/err(or)?/', level: 'warn', limit: 10 })
    expect(calls[1].url).toBe('/api/v1/servers/w/logs?level=warn&q=%2Ferr%28or%29%3F%2F&limit=10&format=json')
    expect(logQueryParams({})).toBe('')
  })
})

describe('Wails transport', () => {
  function fakeWindow() {
    const listeners = new Map<string, Set<(...d: unknown[]) => void>>()
    const offCalls: string[] = []
    const App = {
      Emit: vi.fn(async () => ({ ok: true })),
      ListServers: vi.fn(async () => ({ servers: [{ id: 'a' }] })),
      StartServer: vi.fn(async () => Promise.reject('CONFLICT: already running')),
    }
    const w: WailsWindow = {
      runtime: {
        EventsOn(name, cb) {
          let s = listeners.get(name)
          if (!s) listeners.set(name, (s = new Set()))
          s.add(cb)
          return () => {
            offCalls.push(name)
            s!.delete(cb)
          }
        },
        EventsOff: vi.fn(),
      },
      go: { app: { App: App as unknown as Record<string, (...a: unknown[]) => Promise<unknown>> } },
    }
    const fire = (name: string, p: unknown) => listeners.get(name)?.forEach((cb) => cb(p))
    return { w, App, fire, listeners, offCalls }
  }

  it('is detected by window.runtime', () => {
    expect(isWails({ runtime: {} })).toBe(true)
    expect(isWails({})).toBe(false)
  })

  it('shares one runtime listener per event and removes it with the last handler', () => {
    const f = fakeWindow()
    const t = createWailsTransport(f.w)
    const a = vi.fn()
    const b = vi.fn()
    const offA = t.on('process:info', a)
    const offB = t.on('process:info', b)
    expect(f.listeners.get('process:info')?.size).toBe(1)
    f.fire('process:info', { serverId: 'x' })
    expect(a).toHaveBeenCalledWith({ serverId: 'x' })
    expect(b).toHaveBeenCalledTimes(1)
    offA()
    expect(f.offCalls).toEqual([])
    offB()
    expect(f.offCalls).toEqual(['process:info'])
    expect(t.connectionState.value).toBe('connected')
  })

  it('emits through the bound Emit and maps rejected strings to ApiError', async () => {
    const f = fakeWindow()
    const t = createWailsTransport(f.w)
    expect(await t.emit('subscribe-server-status', {})).toEqual({ ok: true })
    expect(f.App.Emit).toHaveBeenCalledWith('subscribe-server-status', {})
    expect(await t.api.listServers()).toEqual([{ id: 'a' }])
    const err = await t.api.startServer('a').catch((e) => e)
    expect(err).toMatchObject({ code: 'CONFLICT', message: 'already running' })
    const missing = await t.api.health().catch((e) => e)
    expect(missing).toMatchObject({ code: 'UNAVAILABLE' })
  })
})

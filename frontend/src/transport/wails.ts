import { ref } from 'vue'
import { ApiError } from '@/models/errors'
import type {
  Ack,
  CallToolResult,
  MCPView,
  Health,
  LifecycleResult,
  LogData,
  ProcessInfo,
  ServerView,
  SettingsResponse,
  SystemMetrics,
} from '@/models/types'
import { logLineText } from '@/utils/format'
import type { Api, ConnectionState, Transport } from './types'

type Bound = (...args: unknown[]) => Promise<unknown>

export interface WailsRuntime {
  EventsOn(name: string, cb: (...data: any[]) => void): (() => void) | void
  EventsOff(name: string, ...more: string[]): void
}

export interface WailsWindow {
  runtime: WailsRuntime
  go?: { app?: { App?: Record<string, Bound> } }
}

export function isWails(w: unknown): w is WailsWindow {
  return !!w && typeof (w as { runtime?: unknown }).runtime === 'object' && (w as { runtime?: unknown }).runtime !== null
}

/** Bound methods reject with a string; "CODE: message" keeps the code when the Go side sends one. */
function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e
  const msg = typeof e === 'string' ? e : e instanceof Error ? e.message : String(e)
  const m = /^([A-Z][A-Z_]+): (.*)$/s.exec(msg)
  return m ? new ApiError(m[1], m[2]) : new ApiError('ERROR', msg)
}

/** The desktop window: bound Go methods (window.go.app.App) and Wails events. */
export function createWailsTransport(w: WailsWindow): Transport {
  const connectionState = ref<ConnectionState>('connected')
  const lastError = ref('')
  const token = ref('')

  async function call<T>(method: string, ...args: unknown[]): Promise<T> {
    const fn = w.go?.app?.App?.[method]
    if (typeof fn !== 'function') throw new ApiError('UNAVAILABLE', `the desktop app has no method ${method}`)
    try {
      return (await fn(...args)) as T
    } catch (e) {
      throw toApiError(e)
    }
  }

  // One runtime listener per event name, shared by every local handler: EventsOff(name) would
  // remove them all, so it is only called when the last handler goes.
  const handlers = new Map<string, Set<(p: any) => void>>()
  const offs = new Map<string, (() => void) | void>()

  function on(event: string, handler: (payload: any) => void): () => void {
    let set = handlers.get(event)
    if (!set) {
      const s = new Set<(p: any) => void>()
      set = s
      handlers.set(event, s)
      offs.set(
        event,
        w.runtime.EventsOn(event, (...data: any[]) => {
          for (const h of [...s]) h(data[0])
        }),
      )
    }
    set.add(handler)
    return () => {
      const s = handlers.get(event)
      if (!s || !s.delete(handler) || s.size > 0) return
      handlers.delete(event)
      const off = offs.get(event)
      offs.delete(event)
      if (typeof off === 'function') off()
      else w.runtime.EventsOff(event)
    }
  }

  async function emit(event: string, payload?: unknown): Promise<Ack> {
    try {
      const ack = await call<Ack>('Emit', event, payload ?? null)
      return ack && typeof ack === 'object' && 'ok' in ack ? ack : { ok: true }
    } catch (e) {
      const err = toApiError(e)
      return { ok: false, code: err.code, message: err.message }
    }
  }

  const api: Api = {
    health: () => call<Health>('Health'),
    listServers: async () => (await call<{ servers: ServerView[] }>('ListServers')).servers ?? [],
    getServer: (id) => call<ServerView>('GetServer', id),
    createServer: (def) => call<ServerView>('CreateServer', def),
    updateServer: (id, def) => call<ServerView>('UpdateServer', id, def),
    deleteServer: async (id) => {
      await call('DeleteServer', id)
    },
    startServer: (id) => call<LifecycleResult>('StartServer', id),
    stopServer: (id) => call<LifecycleResult>('StopServer', id),
    restartServer: (id) => call<LifecycleResult>('RestartServer', id),
    queryLogs: async (id, q) =>
      (await call<{ entries: LogData[] }>('QueryLogs', id, {
        level: q.level ?? '',
        q: q.q ?? '',
        since: q.since ?? '',
        until: q.until ?? '',
        limit: q.limit ?? 0,
      })).entries ?? [],
    downloadLogs: async (id, format, q) => {
      const entries = await api.queryLogs(id, q)
      const body =
        format === 'ndjson'
          ? entries.map((e) => JSON.stringify(e)).join('\n') + '\n'
          : entries.map(logLineText).join('\n') + '\n'
      return new Blob([body], { type: format === 'ndjson' ? 'application/x-ndjson' : 'text/plain' })
    },
    metricsHistory: async (id, since) =>
      (await call<{ serverId: string; samples: ProcessInfo[] }>('MetricsHistory', id, since)).samples ?? [],
    systemMetrics: () => call<SystemMetrics>('SystemMetrics'),
    getSettings: () => call<SettingsResponse>('GetSettings'),
    updateSettings: (s) => call<SettingsResponse>('UpdateSettings', s),
    regenerateToken: () => call<{ token: string }>('RegenerateToken'),
    openInBrowser: async () => {
      await call('OpenInBrowser')
    },
    // Bound methods over engine.MCP / engine.ProbeMCP (app/ adds them).
    getMCP: (id) => call<MCPView>('GetMCP', id),
    probeMCP: (id) => call<MCPView>('ProbeMCP', id),
    // The call-tool event goes through the same session as Socket.IO (Emit).
    callTool: async (id, name, args) => {
      const ack = await emit('call-tool', { serverId: id, name, arguments: args })
      if (!ack.ok) throw new ApiError(ack.code, ack.message)
      return ack.result as CallToolResult
    },
  }

  return {
    kind: 'wails',
    connectionState,
    lastError,
    token,
    emit,
    on,
    setToken(t: string) {
      // The window itself needs no token; keep it only to show it in Settings.
      token.value = t
    },
    api,
    close() {
      for (const [event, off] of offs) {
        if (typeof off === 'function') off()
        else w.runtime.EventsOff(event)
      }
      offs.clear()
      handlers.clear()
    },
  }
}

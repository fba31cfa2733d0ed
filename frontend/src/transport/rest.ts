import { ApiError, errorMessage } from '@/models/errors'
import type {
  CallToolResult,
  MCPView,
  Health,
  LifecycleResult,
  LogData,
  LogQuery,
  ProcessInfo,
  ServerDef,
  ServerView,
  Settings,
  SettingsResponse,
  SystemMetrics,
} from '@/models/types'
import type { Api } from './types'

export interface RestOptions {
  /** e.g. '/api/v1' or 'http://127.0.0.1:3001/api/v1' */
  base: string
  getToken: () => string
  fetchImpl?: typeof fetch
}

export function logQueryParams(query: LogQuery, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams()
  if (query.level) p.set('level', query.level)
  if (query.q) p.set('q', query.q)
  if (query.since) p.set('since', query.since)
  if (query.until) p.set('until', query.until)
  if (query.limit) p.set('limit', String(query.limit))
  for (const [k, v] of Object.entries(extra)) p.set(k, v)
  const s = p.toString()
  return s ? '?' + s : ''
}

/** REST client for /api/v1 (bearer token). Errors become ApiError with the backend's code/message. */
export function createRestApi(opts: RestOptions): Api {
  const doFetch = opts.fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a))

  async function raw(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    const token = opts.getToken()
    if (token) headers.Authorization = `Bearer ${token}`
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let res: Response
    try {
      res = await doFetch(opts.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      })
    } catch (e) {
      throw new ApiError('NETWORK', `cannot reach the monitor: ${errorMessage(e)}`)
    }
    if (!res.ok) {
      let code = `HTTP_${res.status}`
      let message = res.statusText || `request failed with status ${res.status}`
      try {
        const j = (await res.json()) as { error?: { code?: string; message?: string } }
        if (j?.error) {
          code = j.error.code ?? code
          message = j.error.message ?? message
        }
      } catch {
        /* not JSON */
      }
      if (res.status === 401 && code.startsWith('HTTP_')) code = 'UNAUTHORIZED'
      throw new ApiError(code, message, res.status)
    }
    return res
  }

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await raw(method, path, body)
    if (res.status === 204) return undefined as T
    return (await res.json()) as T
  }

  const sid = (id: string) => `/servers/${encodeURIComponent(id)}`

  return {
    health: () => json<Health>('GET', '/health'),
    listServers: async () => (await json<{ servers: ServerView[] }>('GET', '/servers')).servers ?? [],
    getServer: (id) => json<ServerView>('GET', sid(id)),
    createServer: (def: Partial<ServerDef>) => json<ServerView>('POST', '/servers', def),
    updateServer: (id, def) => json<ServerView>('PUT', sid(id), def),
    deleteServer: async (id) => {
      await raw('DELETE', sid(id))
    },
    startServer: (id) => json<LifecycleResult>('POST', sid(id) + '/start'),
    stopServer: (id) => json<LifecycleResult>('POST', sid(id) + '/stop'),
    restartServer: (id) => json<LifecycleResult>('POST', sid(id) + '/restart'),
    queryLogs: async (id, query) =>
      (await json<{ entries: LogData[] }>('GET', sid(id) + '/logs' + logQueryParams(query, { format: 'json' })))
        .entries ?? [],
    downloadLogs: async (id, format, query) => {
      const res = await raw('GET', sid(id) + '/logs' + logQueryParams(query, { format, download: '1' }))
      return res.blob()
    },
    metricsHistory: async (id, since) =>
      (await json<{ serverId: string; samples: ProcessInfo[] }>(
        'GET',
        sid(id) + '/metrics?since=' + encodeURIComponent(since),
      )).samples ?? [],
    systemMetrics: () => json<SystemMetrics>('GET', '/system/metrics'),
    getSettings: () => json<SettingsResponse>('GET', '/settings'),
    updateSettings: (settings: Settings) => json<SettingsResponse>('PUT', '/settings', settings),
    regenerateToken: () => json<{ token: string }>('POST', '/token/regenerate'),
    getMCP: (id) => json<MCPView>('GET', sid(id) + '/mcp'),
    probeMCP: (id) => json<MCPView>('POST', sid(id) + '/mcp/probe'),
    callTool: (id, name, args) =>
      json<CallToolResult>('POST', sid(id) + '/tools/' + encodeURIComponent(name) + '/call', { arguments: args }),
  }
}

import { ref } from 'vue'
import { ApiError } from '@/models/errors'
import type { Ack, LifecycleResult, ServerView, SettingsResponse } from '@/models/types'
import type { Api, ConnectionState, Transport } from './types'

/** An in-memory Transport for unit tests: records emits, lets the test play server events. */
export class FakeTransport implements Transport {
  kind: 'wails' | 'socketio' = 'socketio'
  connectionState = ref<ConnectionState>('connected')
  lastError = ref('')
  token = ref('test-token')
  emitted: { event: string; payload: unknown }[] = []
  ackFor: (event: string, payload: unknown) => Ack = () => ({ ok: true })
  servers: ServerView[] = []
  api: Api
  private handlers = new Map<string, Set<(p: any) => void>>()

  constructor(api: Partial<Api> = {}) {
    const notFound = (id: string) => new ApiError('NOT_FOUND', `server ${id} not found`, 404)
    const lifecycle = (id: string, status: ServerView['state']['status']): LifecycleResult => {
      const s = this.servers.find((x) => x.id === id)
      if (!s) throw notFound(id)
      s.state = { ...s.state, status }
      return { id, state: s.state }
    }
    const settings: SettingsResponse = {
      settings: {
        host: '127.0.0.1',
        port: 3001,
        allowedOrigins: ['http://localhost:3000'],
        requireToken: false,
        theme: '',
        keepRunningInBackground: true,
      },
      listenURL: 'http://127.0.0.1:3001',
      externalAccess: { enabled: false, reason: 'listening on loopback only' },
    }
    this.api = {
      health: async () => ({ status: 'ok', version: 'test', uptime: 1 }),
      listServers: async () => this.servers.map((s) => ({ ...s })),
      getServer: async (id) => {
        const s = this.servers.find((x) => x.id === id)
        if (!s) throw notFound(id)
        return { ...s }
      },
      createServer: async (def) => {
        const v = { ...(def as ServerView), state: { status: 'stopped', restartCount: 0, restarts: 0 } } as ServerView
        this.servers.push(v)
        return v
      },
      updateServer: async (id, def) => {
        const i = this.servers.findIndex((x) => x.id === id)
        if (i < 0) throw notFound(id)
        this.servers[i] = { ...def, state: this.servers[i].state }
        return this.servers[i]
      },
      deleteServer: async (id) => {
        this.servers = this.servers.filter((x) => x.id !== id)
      },
      startServer: async (id) => lifecycle(id, 'starting'),
      stopServer: async (id) => lifecycle(id, 'stopping'),
      restartServer: async (id) => lifecycle(id, 'starting'),
      queryLogs: async () => [],
      downloadLogs: async () => new Blob([]),
      metricsHistory: async () => [],
      systemMetrics: async () => ({
        cpu: 10,
        cpus: 2,
        memory: { total: 100, used: 40, available: 60 },
        load: [0.1, 0.2, 0.3],
        timestamp: new Date().toISOString(),
      }),
      getSettings: async () => settings,
      updateSettings: async (s) => ({ ...settings, settings: s }),
      regenerateToken: async () => ({ token: 'new-token' }),
      getMCP: async () => ({
        status: 'inactive',
        health: null,
        serverInfo: null,
        capabilities: null,
        tools: [],
        resources: [],
        prompts: [],
      }),
      probeMCP: async (id) => {
        throw new ApiError('CONFLICT', `no MCP session with ${id}`, 409)
      },
      callTool: async (id) => {
        throw new ApiError('CONFLICT', `no MCP session with ${id}`, 409)
      },
      ...api,
    }
  }

  emit(event: string, payload?: unknown): Promise<Ack> {
    this.emitted.push({ event, payload })
    return Promise.resolve(this.ackFor(event, payload))
  }

  on(event: string, handler: (payload: any) => void): () => void {
    let set = this.handlers.get(event)
    if (!set) {
      set = new Set()
      this.handlers.set(event, set)
    }
    set.add(handler)
    return () => {
      const s = this.handlers.get(event)
      s?.delete(handler)
      if (s && s.size === 0) this.handlers.delete(event)
    }
  }

  setToken(t: string): void {
    this.token.value = t
  }

  close(): void {
    this.handlers.clear()
  }

  /** Plays a server → client event. */
  serverEmit(event: string, payload: unknown): void {
    for (const h of [...(this.handlers.get(event) ?? [])]) h(payload)
  }

  listenerCount(event?: string): number {
    if (event) return this.handlers.get(event)?.size ?? 0
    let n = 0
    for (const s of this.handlers.values()) n += s.size
    return n
  }

  emittedEvents(name?: string): { event: string; payload: unknown }[] {
    return name ? this.emitted.filter((e) => e.event === name) : this.emitted
  }

  disconnect(): void {
    this.connectionState.value = 'reconnecting'
  }

  reconnect(): void {
    this.connectionState.value = 'connected'
  }
}

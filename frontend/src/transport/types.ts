import type { Ref } from 'vue'
import type {
  Ack,
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

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected'

/** The operations of the REST API (or the equivalent bound Wails methods). */
export interface Api {
  health(): Promise<Health>
  listServers(): Promise<ServerView[]>
  getServer(id: string): Promise<ServerView>
  createServer(def: Partial<ServerDef>): Promise<ServerView>
  updateServer(id: string, def: ServerDef): Promise<ServerView>
  deleteServer(id: string): Promise<void>
  startServer(id: string): Promise<LifecycleResult>
  stopServer(id: string): Promise<LifecycleResult>
  restartServer(id: string): Promise<LifecycleResult>
  queryLogs(id: string, query: LogQuery): Promise<LogData[]>
  downloadLogs(id: string, format: 'ndjson' | 'text', query: LogQuery): Promise<Blob>
  metricsHistory(id: string, since: string): Promise<ProcessInfo[]>
  systemMetrics(): Promise<SystemMetrics>
  getSettings(): Promise<SettingsResponse>
  updateSettings(settings: Settings): Promise<SettingsResponse>
  regenerateToken(): Promise<{ token: string }>
  /** The server's MCP side: health, server info, capabilities, tools, resources, prompts. */
  getMCP(id: string): Promise<MCPView>
  /** A health check now (409 CONFLICT when the server does not run or is not MCP). */
  probeMCP(id: string): Promise<MCPView>
  /** Calls a tool (a control action: token required); a result with isError is still a result. */
  callTool(id: string, name: string, args: Record<string, unknown>): Promise<CallToolResult>
  /** Desktop only: opens the web UI in the system browser. */
  openInBrowser?(): Promise<void>
}

export interface Transport {
  kind: 'wails' | 'socketio'
  connectionState: Ref<ConnectionState>
  /** Last connection problem, '' when none (for the header indicator). */
  lastError: Ref<string>
  /** The token this client holds ('' when none; the desktop window needs none). */
  token: Ref<string>
  /** Client → server event of protocol §2; resolves with its ack (never rejects). */
  emit(event: string, payload?: unknown): Promise<Ack>
  /** Listen to a server → client event; returns the unsubscribe function. */
  on(event: string, handler: (payload: any) => void): () => void
  /** Store a new token and reconnect with it. */
  setToken(token: string): void
  api: Api
  close(): void
}

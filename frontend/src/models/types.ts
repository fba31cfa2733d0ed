// Wire types of protocol v1 (shared/docs/protocol.md) and the REST bodies.

export type TransportKind = 'stdio' | 'sse' | 'streamable-http'
export const TRANSPORT_KINDS: readonly TransportKind[] = ['stdio', 'sse', 'streamable-http']

export type RestartPolicy = 'never' | 'on-failure' | 'always'
export const RESTART_POLICIES: readonly RestartPolicy[] = ['never', 'on-failure', 'always']

export interface RestartConfig {
  policy: RestartPolicy
  maxRetries: number
  backoffMs: number
}

export interface ServerDef {
  id: string
  name: string
  command: string
  args: string[]
  env: Record<string, string>
  cwd: string
  transport: TransportKind
  url?: string
  autoStart: boolean
  restart: RestartConfig
  tags: string[]
}

export type ServerStatus = 'stopped' | 'starting' | 'running' | 'stopping' | 'crashed' | 'backoff'

export interface LastExit {
  code?: number
  signal?: string
  time: string
  error?: string
}

export interface ServerState {
  status: ServerStatus
  pid?: number
  startedAt?: string
  uptime?: number
  restartCount: number
  restarts: number
  lastExit?: LastExit
  error?: string
}

export type ServerView = ServerDef & { state: ServerState }

export interface LifecycleResult {
  id: string
  state: ServerState
}

export interface ProcessTree {
  processes: number
  cpu: number
  rss: number
}

export interface ProcessInfo {
  pid: number
  cpu: number
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number }
  uptime: number
  timestamp: string
  status?: 'running'
  tree?: ProcessTree
  threads?: number
  fds?: number
  restartCount?: number
  /** The last MCP health check (servers the monitor speaks MCP with). */
  mcp?: MCPHealth
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
/** mcp: the server's notifications/message; protocol: a JSON-RPC message in or out (hidden by default). */
export type LogStream = 'stdout' | 'stderr' | 'system' | 'mcp' | 'protocol'

export interface LogMetadata {
  stream: LogStream
  seq: number
  pid?: number
  replay?: true
  truncated?: true
  fields?: Record<string, unknown>
}

export interface LogData {
  level: LogLevel
  message: string
  timestamp: string
  metadata: LogMetadata
}

export interface SystemMetrics {
  cpu: number
  cpus: number
  memory: { total: number; used: number; available: number }
  load: [number, number, number]
  timestamp: string
}

export interface Health {
  status: 'ok'
  version: string
  uptime: number
}

export type ThemeSetting = '' | 'light' | 'dark'

export interface Settings {
  host: string
  port: number
  allowedOrigins: string[]
  requireToken: boolean
  theme: ThemeSetting
  keepRunningInBackground: boolean
  [extra: string]: unknown
}

export interface SettingsResponse {
  settings: Settings
  listenURL: string
  externalAccess: { enabled: boolean; reason?: string }
  /** Optional: the current token, for windows that did not get it from the URL (Wails). */
  token?: string
}

export interface LogQuery {
  level?: LogLevel | ''
  q?: string
  since?: string
  until?: string
  limit?: number
}

// ---- Server → client events (§3) ----

export interface ProcessInfoEvent {
  serverId: string
  timestamp: string
  processInfo: ProcessInfo
}

export interface ProcessLogsEvent {
  serverId: string
  timestamp: string
  logData: LogData
}

export interface ProcessLogsBatchEvent {
  serverId: string
  timestamp: string
  entries: LogData[]
}

export interface ProcessLogsDroppedEvent {
  serverId: string
  count: number
  fromSeq: number
  toSeq: number
  timestamp: string
}

export interface ServerStatusChangedEvent {
  serverId: string
  status: ServerStatus
  previousStatus: ServerStatus
  pid?: number
  exitCode?: number
  signal?: string
  restartCount: number
  error?: string
  timestamp: string
}

// ---- MCP awareness ----

export interface MCPHealth {
  healthy: boolean
  latencyMs: number
  checkedAt: string
  error?: string
}

export interface MCPServerInfo {
  name: string
  title?: string
  version: string
  protocolVersion: string
}

export interface ServerHealthChangedEvent {
  serverId: string
  healthy: boolean
  latencyMs: number
  error?: string
  serverInfo?: MCPServerInfo
  timestamp: string
}

/** A JSON Schema, as far as the tool form reads it. */
export interface JSONSchema {
  type?: string | string[]
  title?: string
  description?: string
  properties?: Record<string, JSONSchema>
  required?: string[]
  enum?: unknown[]
  default?: unknown
  items?: JSONSchema
  minimum?: number
  maximum?: number
  [extra: string]: unknown
}

export interface MCPTool {
  name: string
  title?: string
  description?: string
  inputSchema?: JSONSchema
  outputSchema?: JSONSchema
  annotations?: Record<string, unknown>
}

export interface MCPResource {
  uri: string
  name: string
  title?: string
  description?: string
  mimeType?: string
}

export interface MCPPrompt {
  name: string
  title?: string
  description?: string
  arguments?: { name: string; description?: string; required?: boolean }[]
}

export type MCPStatus = 'inactive' | 'connecting' | 'ready' | 'failed' | 'not-mcp'

/** GET /api/v1/servers/{id}/mcp */
export interface MCPView {
  status: MCPStatus
  message?: string
  transport?: TransportKind
  health: MCPHealth | null
  serverInfo: MCPServerInfo | null
  instructions?: string
  capabilities: Record<string, unknown> | null
  tools: MCPTool[]
  resources: MCPResource[]
  prompts: MCPPrompt[]
}

export type MCPContent =
  | { type: 'text'; text: string }
  | { type: 'image' | 'audio'; data: string; mimeType: string }
  | { type: 'resource_link'; uri: string; name?: string; mimeType?: string }
  | { type: 'resource'; resource: { uri: string; mimeType?: string; text?: string; blob?: string } }
  | { type: string; [k: string]: unknown }

/** POST /api/v1/servers/{id}/tools/{name}/call */
export interface CallToolResult {
  content: MCPContent[]
  structuredContent?: unknown
  isError?: boolean
}

export interface SubscriptionErrorEvent {
  event: string
  serverId?: string
  code: string
  message: string
  timestamp: string
}

export interface ServerEvents {
  'process:info': ProcessInfoEvent
  'process:logs': ProcessLogsEvent
  'process:logs:batch': ProcessLogsBatchEvent
  'process:logs:dropped': ProcessLogsDroppedEvent
  'server-status-changed': ServerStatusChangedEvent
  'server-health-changed': ServerHealthChangedEvent
  'system-metrics-update': SystemMetrics
  'subscription-error': SubscriptionErrorEvent
  'subscription-confirmed': { room: string; serverId?: string; interval?: number; level?: LogLevel; timestamp: string }
  'unsubscription-confirmed': { rooms: string[]; timestamp: string }
  'connection-established': { clientId: string; transport: string; serverVersion: string; timestamp: string }
  pong: { timestamp: string; serverTime: string }
}

export type Ack =
  | ({ ok: true } & Record<string, unknown>)
  | { ok: false; code: string; message: string }

/** A blank definition, as the add form starts. */
export function emptyServerDef(): ServerDef {
  return {
    id: '',
    name: '',
    command: '',
    args: [],
    env: {},
    cwd: '',
    transport: 'stdio',
    url: '',
    autoStart: false,
    restart: { policy: 'on-failure', maxRetries: 5, backoffMs: 1000 },
    tags: [],
  }
}

/** The preset of the issue: the reference MCP server, over stdio. */
export function presetEverything(): ServerDef {
  return {
    ...emptyServerDef(),
    id: 'everything',
    name: 'Everything (MCP reference server)',
    command: 'npx',
    args: ['-y', '@modelcontextprotocol/server-everything'],
    transport: 'stdio',
  }
}

export function toServerDef(v: ServerView | ServerDef): ServerDef {
  return {
    id: v.id,
    name: v.name,
    command: v.command,
    args: [...(v.args ?? [])],
    env: { ...(v.env ?? {}) },
    cwd: v.cwd ?? '',
    transport: v.transport ?? 'stdio',
    url: v.url ?? '',
    autoStart: !!v.autoStart,
    restart: {
      policy: v.restart?.policy ?? 'never',
      maxRetries: v.restart?.maxRetries ?? 0,
      backoffMs: v.restart?.backoffMs ?? 1000,
    },
    tags: [...(v.tags ?? [])],
  }
}

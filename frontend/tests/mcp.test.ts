import { beforeEach, describe, expect, it } from 'vitest'
import { nextTick, ref } from 'vue'
import type { LogLevel, MCPView } from '@/models/types'
import { useServerLogs } from '@/composables/useServerLogs'
import { useServerMCP } from '@/composables/useServerMCP'
import { FakeTransport } from '@/transport/fake'
import { createRestApi } from '@/transport/rest'
import { buildArguments, initialValues, toolFields } from '@/utils/toolForm'
import { log, makeCtx, withSetup, type Ctx } from './helpers'

const echoSchema = {
  type: 'object',
  properties: {
    count: { type: 'integer', default: 2 },
    message: { type: 'string', description: 'what to echo' },
    loud: { type: 'boolean' },
    mode: { type: 'string', enum: ['a', 'b'] },
    extra: { type: 'object' },
  },
  required: ['message'],
}

describe('tool form from an input schema', () => {
  it('makes fields, required first, with kinds', () => {
    expect(toolFields(echoSchema).map((f) => `${f.name}:${f.kind}:${f.required}`)).toEqual([
      'message:string:true',
      'count:integer:false',
      'loud:boolean:false',
      'mode:enum:false',
      'extra:json:false',
    ])
    expect(initialValues(echoSchema)).toEqual({ message: '', count: 2, loud: false, mode: '', extra: '' })
  })

  it('builds arguments: parses numbers and JSON, leaves out empty optionals, names errors', () => {
    const fields = toolFields(echoSchema)
    expect(buildArguments(fields, { message: 'hi', count: '3', loud: true, mode: '', extra: '{"a":1}' })).toEqual({
      args: { message: 'hi', count: 3, loud: true, extra: { a: 1 } },
      errors: {},
    })
    const bad = buildArguments(fields, { message: ' ', count: '1.5', loud: false, extra: '{' })
    expect(Object.keys(bad.errors).sort()).toEqual(['count', 'extra', 'message'])
  })
})

describe('REST calls of the MCP side', () => {
  it('uses the documented paths and body', async () => {
    const calls: { url: string; method: string; body?: string }[] = []
    const api = createRestApi({
      base: '/api/v1',
      getToken: () => 't',
      fetchImpl: (async (url: string, init: RequestInit) => {
        calls.push({ url, method: String(init.method), body: init.body as string | undefined })
        return new Response('{"content":[]}', { status: 200, headers: { 'Content-Type': 'application/json' } })
      }) as typeof fetch,
    })
    await api.getMCP('ev')
    await api.probeMCP('ev')
    await api.callTool('ev', 'get/sum', { a: 1 })
    expect(calls).toEqual([
      { url: '/api/v1/servers/ev/mcp', method: 'GET', body: undefined },
      { url: '/api/v1/servers/ev/mcp/probe', method: 'POST', body: undefined },
      { url: '/api/v1/servers/ev/tools/get%2Fsum/call', method: 'POST', body: '{"arguments":{"a":1}}' },
    ])
  })
})

describe('protocol entries in the live log', () => {
  let ctx: Ctx
  beforeEach(() => {
    ctx = makeCtx()
  })
  it('are hidden until shown, and showing them re-subscribes for the replay', async () => {
    const show = ref(false)
    const { result: logs, unmount } = withSetup(ctx, () => useServerLogs(ref('w'), ref<LogLevel>('debug'), undefined, show))
    const proto = { ...log(2, '→ {"jsonrpc":"2.0"}', 'debug'), metadata: { stream: 'protocol' as const, seq: 2 } }
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(1), proto, log(3)] })
    logs.flush()
    expect(logs.buffer.all().map((e) => e.metadata.seq)).toEqual([1, 3])
    show.value = true
    await nextTick()
    expect(ctx.transport.emittedEvents('subscribe-server-logs').length).toBe(2)
    ctx.transport.serverEmit('process:logs:batch', { serverId: 'w', timestamp: 't', entries: [log(1), proto, log(3)] })
    logs.flush()
    expect(logs.buffer.all().map((e) => e.metadata.seq)).toEqual([1, 2, 3])
    unmount()
  })
})

describe('useServerMCP', () => {
  it('loads the view and applies health events of its server', async () => {
    const view: MCPView = {
      status: 'ready',
      health: { healthy: true, latencyMs: 3, checkedAt: '2026-01-01T00:00:00.000Z' },
      serverInfo: { name: 'mcp-servers/everything', version: '2.0.0', protocolVersion: '2025-11-25' },
      capabilities: { tools: {} },
      tools: [{ name: 'echo' }],
      resources: [],
      prompts: [],
    }
    let loads = 0
    const ctx = makeCtx(new FakeTransport({ getMCP: async () => (loads++, view) }))
    const { result: mcp, unmount } = withSetup(ctx, () => useServerMCP(ref('ev')))
    await new Promise((r) => setTimeout(r, 0))
    expect(mcp.view.value?.tools.map((t) => t.name)).toEqual(['echo'])
    expect(ctx.transport.emittedEvents('subscribe-server-status').length).toBe(1)
    ctx.transport.serverEmit('server-health-changed', { serverId: 'other', healthy: false, latencyMs: 0, timestamp: 'x' })
    expect(mcp.view.value?.health?.healthy).toBe(true)
    ctx.transport.serverEmit('server-health-changed', { serverId: 'ev', healthy: false, latencyMs: 0, error: 'refused', timestamp: 'x' })
    expect(mcp.view.value?.health).toMatchObject({ healthy: false, error: 'refused' })
    expect(loads).toBe(2) // a turn to red reloads the view
    unmount()
  })
})

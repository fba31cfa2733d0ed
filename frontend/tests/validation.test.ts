import { describe, expect, it } from 'vitest'
import { emptyServerDef, presetEverything, type ServerDef } from '@/models/types'
import { formatFieldErrors, normalizeServerDef, parseFieldErrors, validateServerDef } from '@/utils/validation'

function def(over: Partial<ServerDef>): ServerDef {
  return { ...emptyServerDef(), name: 'Test', command: 'node', ...over }
}

describe('validateServerDef', () => {
  it('accepts the preset', () => {
    expect(validateServerDef(presetEverything())).toEqual({})
  })

  it('needs a command', () => {
    const e = validateServerDef(def({ command: '  ' }))
    expect(e.command).toBe('must not be empty')
    expect(formatFieldErrors(e)).toBe('command: must not be empty')
  })

  it.each(['weather', 'a', '0-x', 'a'.repeat(63)])('accepts id %s', (id) => {
    expect(validateServerDef(def({ id })).id).toBeUndefined()
  })
  it.each(['Weather', '-a', 'a_b', 'a b', 'a'.repeat(64), 'é'])('refuses id %s', (id) => {
    expect(validateServerDef(def({ id })).id).toMatch(/^must match/)
  })

  it('lets the id be left out when there is a name', () => {
    expect(validateServerDef(def({ id: '' }))).toEqual({})
    expect(validateServerDef(def({ id: '', name: '' })).name).toBeDefined()
    expect(validateServerDef(def({ id: '' }), { idRequired: true }).id).toBe('must not be empty')
  })

  it('needs an http(s) url for sse and streamable-http', () => {
    expect(validateServerDef(def({ transport: 'sse', url: '' })).url).toBe('must not be empty for transport sse')
    expect(validateServerDef(def({ transport: 'streamable-http', url: 'ftp://x' })).url).toBe('must be an http or https URL')
    expect(validateServerDef(def({ transport: 'streamable-http', url: 'http://127.0.0.1:3322/mcp' })).url).toBeUndefined()
    expect(validateServerDef(def({ transport: 'stdio', url: '' })).url).toBeUndefined()
  })

  it('checks the restart policy and its bounds', () => {
    const bad = validateServerDef(def({ restart: { policy: 'sometimes' as never, maxRetries: 1001, backoffMs: 99 } }))
    expect(bad['restart.policy']).toBe('must be one of never, on-failure, always')
    expect(bad['restart.maxRetries']).toBe('must be between 0 and 1000')
    expect(bad['restart.backoffMs']).toBe('must be between 100 and 600000')
    const edges = validateServerDef(def({ restart: { policy: 'always', maxRetries: 0, backoffMs: 600000 } }))
    expect(edges).toEqual({})
    expect(validateServerDef(def({ restart: { policy: 'always', maxRetries: 1000, backoffMs: 100 } }))).toEqual({})
    expect(validateServerDef(def({ restart: { policy: 'always', maxRetries: 1.5, backoffMs: 100 } }))['restart.maxRetries']).toBeDefined()
  })

  it('checks env keys', () => {
    expect(validateServerDef(def({ env: { 'A=B': 'x' } })).env).toBeDefined()
    expect(validateServerDef(def({ env: { PORT: '3322' } })).env).toBeUndefined()
  })

  it('joins several problems with "; "', () => {
    const e = validateServerDef(def({ command: '', id: 'BAD' }))
    expect(formatFieldErrors(e)).toContain('; ')
  })
})

describe('parseFieldErrors', () => {
  it('splits a backend message onto fields', () => {
    expect(parseFieldErrors('command: must not be empty; restart.backoffMs: must be between 100 and 600000')).toEqual({
      command: 'must not be empty',
      'restart.backoffMs': 'must be between 100 and 600000',
    })
    expect(parseFieldErrors('server weather already exists')).toEqual({ '': 'server weather already exists' })
  })
})

describe('normalizeServerDef', () => {
  it('trims, drops empty args and the url of stdio', () => {
    const n = normalizeServerDef(def({ id: ' x ', command: ' npx ', args: ['-y', '', 'pkg'], url: 'http://a' }))
    expect(n.id).toBe('x')
    expect(n.command).toBe('npx')
    expect(n.args).toEqual(['-y', 'pkg'])
    expect(n.url).toBe('')
  })
})

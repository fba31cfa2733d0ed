import { RESTART_POLICIES, TRANSPORT_KINDS, type ServerDef } from '@/models/types'

// The rules of the backend's registry, with the same "field: rule" messages, so the form can
// tell the user before the round trip. Backend 400 messages are shown as they come as well.

export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/
export const MAX_RETRIES_MAX = 1000
export const BACKOFF_MIN = 100
export const BACKOFF_MAX = 600_000

export type FieldErrors = Record<string, string>

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s)
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.host
  } catch {
    return false
  }
}

/** Problems keyed by field path (id, name, command, url, transport, restart.policy, …). */
export function validateServerDef(def: Partial<ServerDef>, opts: { idRequired?: boolean } = {}): FieldErrors {
  const errs: FieldErrors = {}
  const id = (def.id ?? '').trim()
  if (id === '') {
    if (opts.idRequired) errs.id = 'must not be empty'
    else if ((def.name ?? '').trim() === '') errs.name = 'must not be empty when id is empty'
  } else if (!ID_PATTERN.test(id)) {
    errs.id = 'must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and dashes)'
  }
  if ((def.command ?? '').trim() === '') errs.command = 'must not be empty'
  const transport = def.transport ?? 'stdio'
  if (!TRANSPORT_KINDS.includes(transport)) {
    errs.transport = `must be one of ${TRANSPORT_KINDS.join(', ')}`
  } else if (transport !== 'stdio') {
    const url = (def.url ?? '').trim()
    if (url === '') errs.url = `must not be empty for transport ${transport}`
    else if (!isHttpUrl(url)) errs.url = 'must be an http or https URL'
  }
  const r = def.restart
  if (r) {
    if (!RESTART_POLICIES.includes(r.policy)) errs['restart.policy'] = `must be one of ${RESTART_POLICIES.join(', ')}`
    if (!Number.isInteger(r.maxRetries) || r.maxRetries < 0 || r.maxRetries > MAX_RETRIES_MAX)
      errs['restart.maxRetries'] = `must be between 0 and ${MAX_RETRIES_MAX}`
    if (!Number.isInteger(r.backoffMs) || r.backoffMs < BACKOFF_MIN || r.backoffMs > BACKOFF_MAX)
      errs['restart.backoffMs'] = `must be between ${BACKOFF_MIN} and ${BACKOFF_MAX}`
  }
  for (const [k, v] of Object.entries(def.env ?? {})) {
    if (k === '' || k.includes('=') || /\s/.test(k)) {
      errs.env = `key ${JSON.stringify(k)} must be non-empty, without '=' or spaces`
      break
    }
    if (v.includes('\u0000')) {
      errs.env = `value of ${k} must not contain NUL`
      break
    }
  }
  return errs
}

/** "command: must not be empty; url: must be an http or https URL", as the backend joins them. */
export function formatFieldErrors(errs: FieldErrors): string {
  return Object.entries(errs)
    .map(([f, m]) => `${f}: ${m}`)
    .join('; ')
}

/** Splits a backend message "a: x; b.c: y" back into field errors (unknown parts go under ''). */
export function parseFieldErrors(message: string): FieldErrors {
  const out: FieldErrors = {}
  for (const part of message.split('; ')) {
    const m = /^([A-Za-z][\w.[\]-]*): (.+)$/.exec(part.trim())
    if (m) out[m[1]] = m[2]
    else if (part.trim()) out[''] = out[''] ? `${out['']}; ${part.trim()}` : part.trim()
  }
  return out
}

/** Cleans a form value before it is sent: trims, drops empty args, url only for http kinds. */
export function normalizeServerDef(def: ServerDef): ServerDef {
  const out: ServerDef = {
    ...def,
    id: def.id.trim(),
    name: def.name.trim(),
    command: def.command.trim(),
    args: def.args.filter((a) => a !== ''),
    cwd: def.cwd.trim(),
    url: def.transport === 'stdio' ? '' : (def.url ?? '').trim(),
    restart: { ...def.restart },
    env: { ...def.env },
    tags: [...def.tags],
  }
  return out
}

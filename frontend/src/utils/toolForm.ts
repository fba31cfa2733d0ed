import type { JSONSchema } from '@/models/types'

/** One input of a tool's call form, made from a property of its input schema. */
export interface ToolField {
  name: string
  kind: 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json'
  required: boolean
  description: string
  options: unknown[]
}

function typeOf(s: JSONSchema): string {
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type
  return t ?? ''
}

/** The fields of a tool's input schema, required ones first, in schema order otherwise. */
export function toolFields(schema: JSONSchema | undefined): ToolField[] {
  const props = schema?.properties ?? {}
  const required = new Set(schema?.required ?? [])
  const fields = Object.entries(props).map(([name, p]): ToolField => {
    const t = typeOf(p ?? {})
    let kind: ToolField['kind'] = 'json'
    if (Array.isArray(p?.enum) && p.enum.length > 0) kind = 'enum'
    else if (t === 'string' || t === 'number' || t === 'integer' || t === 'boolean') kind = t
    return { name, kind, required: required.has(name), description: p?.description ?? p?.title ?? '', options: p?.enum ?? [] }
  })
  return fields.sort((a, b) => Number(b.required) - Number(a.required))
}

/** Initial form values: the schema's defaults, else empty ('' for text and JSON, false for booleans). */
export function initialValues(schema: JSONSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of toolFields(schema)) {
    const d = schema?.properties?.[f.name]?.default
    if (f.kind === 'boolean') out[f.name] = typeof d === 'boolean' ? d : false
    else if (f.kind === 'json') out[f.name] = d === undefined ? '' : JSON.stringify(d, null, 2)
    else out[f.name] = d === undefined ? '' : d
  }
  return out
}

/**
 * The arguments object of a call from the form values: numbers parsed, JSON fields parsed, empty
 * optional fields left out. errors names the fields that are missing or malformed.
 */
export function buildArguments(
  fields: ToolField[],
  values: Record<string, unknown>,
): { args: Record<string, unknown>; errors: Record<string, string> } {
  const args: Record<string, unknown> = {}
  const errors: Record<string, string> = {}
  for (const f of fields) {
    const v = values[f.name]
    const empty = v === undefined || v === null || (typeof v === 'string' && v.trim() === '')
    if (f.kind === 'boolean') {
      args[f.name] = !!v
      continue
    }
    if (empty) {
      if (f.required) errors[f.name] = 'required'
      continue
    }
    switch (f.kind) {
      case 'number':
      case 'integer': {
        const n = typeof v === 'number' ? v : Number(String(v).trim())
        if (!Number.isFinite(n) || (f.kind === 'integer' && !Number.isInteger(n))) {
          errors[f.name] = f.kind === 'integer' ? 'must be a whole number' : 'must be a number'
        } else args[f.name] = n
        break
      }
      case 'json':
        try {
          args[f.name] = JSON.parse(String(v))
        } catch (e) {
          errors[f.name] = 'invalid JSON: ' + (e as Error).message
        }
        break
      default:
        args[f.name] = v
    }
  }
  return { args, errors }
}

let next = 1

export interface ArgRow {
  k: number
  value: string
}

export interface EnvRow {
  k: number
  key: string
  value: string
}

export function argRows(args: string[]): ArgRow[] {
  return args.map((value) => ({ k: next++, value }))
}

export function newArgRow(): ArgRow {
  return { k: next++, value: '' }
}

export function envRows(env: Record<string, string>): EnvRow[] {
  return Object.entries(env).map(([key, value]) => ({ k: next++, key, value }))
}

export function newEnvRow(): EnvRow {
  return { k: next++, key: '', value: '' }
}

/** Rows → env object; empty rows are skipped; the first duplicate key is reported. */
export function rowsToEnv(rows: EnvRow[]): { env: Record<string, string>; duplicate?: string } {
  const env: Record<string, string> = {}
  let duplicate: string | undefined
  for (const r of rows) {
    const key = r.key.trim()
    if (key === '' && r.value === '') continue
    if (key in env && duplicate === undefined) duplicate = key
    env[key] = r.value
  }
  return { env, duplicate }
}

import { ref, shallowRef, type Ref } from 'vue'
import type { LogLevel } from '@/models/types'
import { useTransport } from '@/transport'
import { LogBuffer } from '@/utils/logBuffer'

export const SEARCH_LIMIT = 5000

/** Whether q is a /regex/ and, if so, whether it compiles (the server runs it; this only warns). */
export function checkQuery(q: string): { regex: boolean; error: string } {
  const m = /^\/(.*)\/$/s.exec(q)
  if (!m) return { regex: false, error: '' }
  try {
    new RegExp(m[1])
    return { regex: true, error: '' }
  } catch (e) {
    return { regex: true, error: (e as Error).message }
  }
}

/** Text or /regex/ search over the stored logs of a server (REST), shown instead of the live tail. */
export function useLogSearch(serverId: Ref<string>, level: Ref<LogLevel>) {
  const transport = useTransport()
  const buffer = new LogBuffer(SEARCH_LIMIT)
  const version = shallowRef(0)
  const active = ref(false)
  const loading = ref(false)
  const query = ref('')
  let generation = 0

  async function run(q: string): Promise<void> {
    const gen = ++generation
    query.value = q
    if (!q.trim()) {
      close()
      return
    }
    loading.value = true
    try {
      const entries = await transport.api.queryLogs(serverId.value, {
        q,
        level: level.value === 'debug' ? '' : level.value,
        limit: SEARCH_LIMIT,
      })
      if (gen !== generation) return
      buffer.clear()
      buffer.push(entries)
      active.value = true
      version.value++
    } finally {
      if (gen === generation) loading.value = false
    }
  }

  function close() {
    generation++
    active.value = false
    loading.value = false
    buffer.clear()
    version.value++
  }

  return { buffer, version, active, loading, query, run, close }
}

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Settings, SettingsResponse } from '@/models/types'
import { useTransport } from '@/transport'
import { useThemeStore } from './theme'

export const useSettingsStore = defineStore('settings', () => {
  const transport = useTransport()
  const theme = useThemeStore()
  const data = ref<SettingsResponse | null>(null)
  const loading = ref(false)

  const token = computed(() => data.value?.token || transport.token.value)

  function apply(resp: SettingsResponse) {
    data.value = resp
    if (resp.token) transport.token.value = transport.token.value || resp.token
    theme.adoptServerTheme(resp.settings?.theme ?? '')
  }

  async function load(): Promise<void> {
    loading.value = true
    try {
      apply(await transport.api.getSettings())
    } finally {
      loading.value = false
    }
  }

  async function save(settings: Settings): Promise<void> {
    apply(await transport.api.updateSettings(settings))
  }

  /** New token: stored, and the live connection is made again with it. */
  async function regenerateToken(): Promise<string> {
    const { token: t } = await transport.api.regenerateToken()
    transport.setToken(t)
    if (data.value) data.value = { ...data.value, token: t }
    return t
  }

  return { data, loading, token, load, save, regenerateToken }
})

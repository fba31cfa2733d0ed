import { defineStore } from 'pinia'
import { computed, ref, watchEffect } from 'vue'
import type { ThemeSetting } from '@/models/types'

export const THEME_STORAGE_KEY = 'mcpwatch.theme'

function readStored(): ThemeSetting | null {
  try {
    const v = localStorage.getItem(THEME_STORAGE_KEY)
    return v === 'light' || v === 'dark' || v === '' ? v : null
  } catch {
    return null
  }
}

/** Light/dark: follows the OS until the user picks one; kept in localStorage (and in settings). */
export const useThemeStore = defineStore('theme', () => {
  const stored = readStored()
  const choice = ref<ThemeSetting>(stored ?? '')
  /** true once the user (or this browser earlier) chose; the server's setting then does not override */
  const chosenLocally = ref(stored !== null)
  const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null
  const osDark = ref(media?.matches ?? false)
  media?.addEventListener?.('change', (e) => {
    osDark.value = e.matches
  })

  const dark = computed(() => (choice.value === '' ? osDark.value : choice.value === 'dark'))

  watchEffect(() => {
    if (typeof document !== 'undefined') document.documentElement.classList.toggle('dark', dark.value)
  })

  function set(t: ThemeSetting): void {
    choice.value = t
    chosenLocally.value = true
    try {
      localStorage.setItem(THEME_STORAGE_KEY, t)
    } catch {
      /* ignore */
    }
  }

  /** The server's stored theme applies when this browser has no choice of its own. */
  function adoptServerTheme(t: ThemeSetting): void {
    if (!chosenLocally.value) choice.value = t
  }

  return { choice, dark, set, adoptServerTheme }
})

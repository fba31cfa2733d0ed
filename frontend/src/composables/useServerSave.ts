import { ref } from 'vue'
import { ApiError } from '@/models/errors'
import { notifyError } from '@/utils/notify'

/** Runs a save; a 400/409 answer is kept as the form's message, anything else is a toast. */
export function useServerSave() {
  const saving = ref(false)
  const serverError = ref('')

  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    saving.value = true
    serverError.value = ''
    try {
      return await fn()
    } catch (e) {
      if (e instanceof ApiError && (e.status === 400 || e.status === 409 || e.code === 'INVALID' || e.code === 'CONFLICT')) {
        serverError.value = e.message
      } else {
        notifyError(e, 'Could not save')
      }
      return undefined
    } finally {
      saving.value = false
    }
  }

  return { saving, serverError, run }
}

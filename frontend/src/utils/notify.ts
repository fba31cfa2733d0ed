import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { ApiError, errorMessage } from '@/models/errors'

/** Shows an error to the user (one toast, grouped when repeated). */
export function notifyError(e: unknown, prefix = ''): void {
  const msg = e instanceof ApiError && e.code && !e.code.startsWith('HTTP_') ? `${e.message} (${e.code})` : errorMessage(e)
  ElMessage({ type: 'error', message: prefix ? `${prefix}: ${msg}` : msg, grouping: true, showClose: true, duration: 5000 })
}

export function notifySuccess(message: string): void {
  ElMessage({ type: 'success', message, grouping: true, duration: 2000 })
}

export function notifyWarning(message: string): void {
  ElMessage({ type: 'warning', message, grouping: true, showClose: true, duration: 5000 })
}

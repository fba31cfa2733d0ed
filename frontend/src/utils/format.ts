import type { LogData } from '@/models/types'

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** 1536 → "1.5 KiB"; binary units, as `ps`/`top` show memory. */
export function formatBytes(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  if (n < 0) return '-' + formatBytes(-n, digits)
  let i = 0
  let v = n
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(digits)} ${UNITS[i]}`
}

/** CPU is already a percentage of one core (protocol §3): 12.345 → "12.3 %". Never ×100. */
export function formatPercent(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return `${n.toFixed(digits)} %`
}

/** Seconds → "45s", "3m 05s", "2h 03m", "4d 02h". */
export function formatUptime(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '—'
  const s = Math.floor(sec)
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  const p2 = (x: number) => String(x).padStart(2, '0')
  if (d > 0) return `${d}d ${p2(h)}h`
  if (h > 0) return `${h}h ${p2(m)}m`
  if (m > 0) return `${m}m ${p2(r)}s`
  return `${r}s`
}

/** Uptime in seconds from an ISO start time. */
export function uptimeSince(startedAt: string | undefined, now: number): number | undefined {
  if (!startedAt) return undefined
  const t = Date.parse(startedAt)
  if (Number.isNaN(t)) return undefined
  return Math.max(0, (now - t) / 1000)
}

/** ISO time → local "HH:MM:SS.mmm". */
export function formatClock(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (x: number, n = 2) => String(x).padStart(n, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

export function formatDateTime(iso: string | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}

/** One log entry as a line of the text download format. */
export function logLineText(e: LogData): string {
  return `${e.timestamp} ${e.level.toUpperCase().padEnd(5)} [${e.metadata?.stream ?? 'stdout'}] ${e.message}`
}

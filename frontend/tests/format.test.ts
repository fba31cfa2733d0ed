import { describe, expect, it } from 'vitest'
import { formatBytes, formatPercent, formatUptime, logLineText, uptimeSince } from '@/utils/format'
import { log } from './helpers'

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [52428800, '50.0 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
    [-2048, '-2.0 KiB'],
  ])('%d → %s', (n, s) => expect(formatBytes(n)).toBe(s))
  it('is a dash for missing values', () => {
    expect(formatBytes(undefined)).toBe('—')
    expect(formatBytes(NaN)).toBe('—')
  })
})

describe('formatPercent', () => {
  it('shows the value as it comes (never ×100)', () => {
    expect(formatPercent(12.345)).toBe('12.3 %')
    expect(formatPercent(0.5)).toBe('0.5 %')
    expect(formatPercent(250)).toBe('250.0 %')
    expect(formatPercent(null)).toBe('—')
  })
})

describe('formatUptime', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [185, '3m 05s'],
    [7380, '2h 03m'],
    [4 * 86400 + 7200, '4d 02h'],
  ])('%d s → %s', (n, s) => expect(formatUptime(n)).toBe(s))
  it('is a dash for missing or negative', () => {
    expect(formatUptime(undefined)).toBe('—')
    expect(formatUptime(-1)).toBe('—')
  })
  it('counts from a start time', () => {
    expect(uptimeSince('2024-01-01T00:00:00Z', Date.parse('2024-01-01T00:01:00Z'))).toBe(60)
    expect(uptimeSince(undefined, 0)).toBeUndefined()
  })
})

describe('logLineText', () => {
  it('writes time, level, stream and message', () => {
    expect(logLineText(log(1, 'hello', 'warn', 'stderr'))).toBe('2023-11-14T22:13:20.001Z WARN  [stderr] hello')
  })
})

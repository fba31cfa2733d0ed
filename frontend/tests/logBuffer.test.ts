import { describe, expect, it } from 'vitest'
import { LogBuffer } from '@/utils/logBuffer'
import { log } from './helpers'

const seqs = (b: LogBuffer) => b.all().map((e) => e.metadata.seq)

describe('LogBuffer', () => {
  it('appends in order and drops duplicates by seq', () => {
    const b = new LogBuffer(100)
    expect(b.push([log(1), log(2), log(3)])).toBe(3)
    expect(b.push([log(2), log(3), log(4)])).toBe(1)
    expect(seqs(b)).toEqual([1, 2, 3, 4])
  })

  it('merges a replayed backlog that arrives after live lines', () => {
    const b = new LogBuffer(100)
    b.push([log(10), log(11)])
    // the replay (tail) of a re-subscribe: older entries, some already there
    expect(b.push([log(7), log(8), log(9), log(10)])).toBe(3)
    expect(seqs(b)).toEqual([7, 8, 9, 10, 11])
    expect(b.has(8)).toBe(true)
    expect(b.has(12)).toBe(false)
  })

  it('keeps at most cap entries, dropping the oldest', () => {
    const b = new LogBuffer(5)
    b.push([1, 2, 3, 4, 5, 6, 7].map((n) => log(n)))
    expect(seqs(b)).toEqual([3, 4, 5, 6, 7])
    expect(b.evicted).toBe(2)
    b.push([log(8)])
    expect(seqs(b)).toEqual([4, 5, 6, 7, 8])
    expect(b.evicted).toBe(3)
  })

  it('ignores entries older than everything kept when full', () => {
    const b = new LogBuffer(3)
    b.push([log(5), log(6), log(7)])
    expect(b.push([log(1)])).toBe(0)
    expect(seqs(b)).toEqual([5, 6, 7])
  })

  it('holds 50 000 lines and stays fast', () => {
    const b = new LogBuffer(50_000)
    const t0 = performance.now()
    for (let i = 0; i < 120; i++) b.push(Array.from({ length: 1000 }, (_, j) => log(i * 1000 + j)))
    expect(b.length).toBe(50_000)
    expect(b.at(0)?.metadata.seq).toBe(70_000)
    expect(b.lastSeq).toBe(119_999)
    expect(performance.now() - t0).toBeLessThan(2000)
  })

  it('clears', () => {
    const b = new LogBuffer(3)
    b.push([log(1)])
    b.clear()
    expect(b.length).toBe(0)
    expect(b.push([log(1)])).toBe(1)
  })
})

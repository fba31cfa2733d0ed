import type { LogData } from '@/models/types'

export const DEFAULT_LOG_CAP = 50_000

/**
 * Log entries kept in seq order, without duplicates, at most `cap` of them (oldest dropped).
 * Not reactive by itself: the owner bumps a version ref after each change.
 */
export class LogBuffer {
  private items: LogData[] = []
  /** entries dropped from the front because of the cap, since the last clear */
  evicted = 0

  constructor(readonly cap = DEFAULT_LOG_CAP) {}

  get length(): number {
    return this.items.length
  }

  get lastSeq(): number {
    return this.items.length ? this.items[this.items.length - 1].metadata.seq : -Infinity
  }

  at(i: number): LogData | undefined {
    return this.items[i]
  }

  slice(start: number, end: number): LogData[] {
    return this.items.slice(start, end)
  }

  all(): readonly LogData[] {
    return this.items
  }

  has(seq: number): boolean {
    return this.find(seq) >= 0
  }

  /** Adds entries; returns how many were new. Duplicates (same seq) are dropped. */
  push(entries: readonly LogData[]): number {
    let added = 0
    for (const e of entries) {
      const seq = e?.metadata?.seq
      if (typeof seq !== 'number') {
        // No seq (should not happen): keep it at the end, it cannot be deduplicated.
        this.items.push(e)
        added++
        continue
      }
      if (seq > this.lastSeq) {
        this.items.push(e)
        added++
        continue
      }
      const i = this.lowerBound(seq)
      if (i < this.items.length && this.items[i].metadata.seq === seq) continue
      // Older than what is kept and the buffer is full: it would be evicted at once.
      if (i === 0 && this.items.length >= this.cap) continue
      this.items.splice(i, 0, e)
      added++
    }
    const over = this.items.length - this.cap
    if (over > 0) {
      this.items.splice(0, over)
      this.evicted += over
    }
    return added
  }

  clear(): void {
    this.items = []
    this.evicted = 0
  }

  private lowerBound(seq: number): number {
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.items[mid].metadata.seq < seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private find(seq: number): number {
    const i = this.lowerBound(seq)
    return i < this.items.length && this.items[i].metadata.seq === seq ? i : -1
  }
}

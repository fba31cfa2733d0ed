export interface Flusher {
  /** Ask for a flush: on the next animation frame, at the latest after maxWaitMs. */
  schedule(): void
  /** Run now if something is pending. */
  flush(): void
  cancel(): void
}

/**
 * Batches high-rate updates: many events → one flush per frame (or per maxWaitMs when frames do
 * not run, e.g. in a background tab).
 */
export function createFlusher(fn: () => void, maxWaitMs = 100): Flusher {
  let pending = false
  let raf: number | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const hasRaf = typeof requestAnimationFrame === 'function'

  function clear() {
    if (raf !== undefined && hasRaf) cancelAnimationFrame(raf)
    if (timer !== undefined) clearTimeout(timer)
    raf = undefined
    timer = undefined
  }

  function run() {
    if (!pending) return
    pending = false
    clear()
    fn()
  }

  return {
    schedule() {
      if (pending) return
      pending = true
      if (hasRaf) raf = requestAnimationFrame(run)
      timer = setTimeout(run, maxWaitMs)
    },
    flush: run,
    cancel() {
      pending = false
      clear()
    },
  }
}

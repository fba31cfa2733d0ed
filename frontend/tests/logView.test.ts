import { afterEach, describe, expect, it, vi } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import { nextTick } from 'vue'
import LogView from '@/components/logs/LogView.vue'
import type { LogData } from '@/models/types'
import { LogBuffer } from '@/utils/logBuffer'
import { log } from './helpers'

const ROW = 20
const HEIGHT = 600 // the view's fallback height: 30 rows on screen
const OVERSCAN = 20

/**
 * What happy-dom lacks and the view relies on: a content height, and a scrollTop that is clamped to
 * it and fires 'scroll' (later, once) when it changes, as in a browser.
 */
function emulateScroller(el: HTMLElement) {
  let top = 0
  const contentHeight = () => parseFloat((el.firstElementChild as HTMLElement).style.height) || 0
  Object.defineProperty(el, 'clientHeight', { get: () => HEIGHT })
  Object.defineProperty(el, 'scrollHeight', { get: () => Math.max(HEIGHT, contentHeight()) })
  Object.defineProperty(el, 'scrollTop', {
    get: () => top,
    set: (v: number) => {
      const next = Math.max(0, Math.min(v, contentHeight() - HEIGHT))
      if (next === top) return
      top = next
      setTimeout(() => el.dispatchEvent(new Event('scroll')))
    },
  })
}

/** Lets scroll events, animation frames and renders run out. */
async function settle() {
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 20))
    await nextTick()
  }
}

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => log(from + i))
const seqs = (w: VueWrapper) => w.findAll('[data-testid="log-row"]').map((r) => Number(r.attributes('data-seq')))

let wrapper: VueWrapper | undefined
afterEach(() => wrapper?.unmount())

/** A view over `buffer` (empty at mount, as in the app), its scroller emulated; `add` pushes lines. */
function view(buffer: LogBuffer, follow: boolean) {
  const w = mount(LogView, { props: { buffer, version: 0, follow } })
  w.setProps({ 'onUpdate:follow': (v: boolean) => w.setProps({ follow: v }) })
  emulateScroller(w.element as HTMLElement)
  wrapper = w
  let version = 0
  async function add(entries: LogData[]) {
    buffer.push(entries)
    await w.setProps({ version: ++version })
    await settle()
  }
  return { w, add }
}

const el = (w: VueWrapper) => w.element as HTMLElement
/** seq of the first row on screen */
const firstOnScreen = (w: VueWrapper, buffer: LogBuffer) => buffer.at(Math.floor(el(w).scrollTop / ROW))?.metadata.seq

describe('LogView', () => {
  it('while following, renders the last screenful once per change and scrolls to the end', async () => {
    const buffer = new LogBuffer(50_000)
    const { w, add } = view(buffer, true)
    const slice = vi.spyOn(buffer, 'slice')
    await add(lines(1, 1000))
    expect(slice).toHaveBeenCalledTimes(1)
    expect(seqs(w)).toEqual(lines(1000 - HEIGHT / ROW - OVERSCAN + 1, 1000).map((e) => e.metadata.seq))
    expect(el(w).scrollTop).toBe(1000 * ROW - HEIGHT)
    expect(w.emitted('update:follow')).toBeUndefined()
  })

  it('keeps the rows the user reads in place when the oldest are evicted', async () => {
    const buffer = new LogBuffer(1000)
    const { w, add } = view(buffer, false)
    await add(lines(1, 1000))
    el(w).scrollTop = 500 * ROW
    await settle()
    expect(firstOnScreen(w, buffer)).toBe(501)
    expect(seqs(w)).toContain(501)

    await add(lines(1001, 1100))
    expect(buffer.at(0)?.metadata.seq).toBe(101)
    expect(firstOnScreen(w, buffer)).toBe(501)
    expect(seqs(w)).toContain(501)
    expect(w.emitted('update:follow')).toBeUndefined()
  })

  it('stops following when the user scrolls up, also right after lines came in at the cap', async () => {
    const buffer = new LogBuffer(1000)
    const { w, add } = view(buffer, true)
    await add(lines(1, 1000))
    // At the cap the end stays where it was: the view does not scroll, no scroll event comes.
    await add(lines(1001, 1100))
    el(w).scrollTop = 100 * ROW
    await settle()
    expect(w.emitted('update:follow')).toEqual([[false]])
    expect(firstOnScreen(w, buffer)).toBe(201)
    expect(seqs(w)).toContain(201)
  })

  it('follows again when the user scrolls to the end', async () => {
    const buffer = new LogBuffer(1000)
    const { w, add } = view(buffer, false)
    await add(lines(1, 500))
    el(w).scrollTop = 500 * ROW
    await settle()
    expect(w.emitted('update:follow')).toEqual([[true]])
    expect(seqs(w).at(-1)).toBe(500)
  })

  it('reuses the row elements while following; keeps a row element while the user scrolls', async () => {
    const buffer = new LogBuffer(50_000)
    const { w, add } = view(buffer, true)
    await add(lines(1, 1000))
    const first = el(w).querySelector('[data-testid="log-row"]')
    await add(lines(1001, 1100))
    expect(el(w).querySelector('[data-testid="log-row"]')).toBe(first)
    expect(first?.getAttribute('data-seq')).toBe(String(1100 - HEIGHT / ROW - OVERSCAN + 1))

    await w.setProps({ follow: false })
    await settle()
    const row = () => el(w).querySelector('[data-seq="1060"]')
    const before = row()
    expect(before).not.toBeNull()
    el(w).scrollTop -= 5 * ROW
    await settle()
    expect(seqs(w)[0]).toBe(1046)
    expect(row()).toBe(before)
  })
})

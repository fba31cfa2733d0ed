import { onMounted, onScopeDispose, ref, type Ref } from 'vue'

/** Whether the element is on screen (IntersectionObserver); true where the API is missing. */
export function useVisibility(el: Ref<HTMLElement | null | undefined>) {
  const visible = ref(typeof IntersectionObserver === 'undefined')
  let io: IntersectionObserver | null = null
  onMounted(() => {
    if (typeof IntersectionObserver === 'undefined' || !el.value) return
    io = new IntersectionObserver((entries) => {
      for (const e of entries) visible.value = e.isIntersecting
    })
    io.observe(el.value)
  })
  onScopeDispose(() => io?.disconnect())
  return visible
}

import { createApp, defineComponent, h, type App, type Component } from 'vue'
import { createPinia, setActivePinia, type Pinia } from 'pinia'
import { FakeTransport } from '@/transport/fake'
import { SubscriptionManager, SubscriptionsKey, TransportKey } from '@/transport'
import type { LogData, LogLevel, LogStream } from '@/models/types'

export interface Ctx {
  transport: FakeTransport
  subs: SubscriptionManager
  pinia: Pinia
}

function makeApp(ctx: Ctx, root: Component): App {
  const app = createApp(root)
  app.provide(TransportKey, ctx.transport)
  app.provide(SubscriptionsKey, ctx.subs)
  app.use(ctx.pinia)
  return app
}

/** A fake transport, its subscription manager and an active pinia whose stores can inject them. */
export function makeCtx(transport = new FakeTransport()): Ctx {
  const subs = new SubscriptionManager(transport)
  const pinia = createPinia()
  const ctx = { transport, subs, pinia }
  // install pinia into an app so that setup stores can inject() the transport
  makeApp(ctx, { render: () => null })
  setActivePinia(pinia)
  return ctx
}

/** Runs a composable inside a mounted component; `unmount` ends its scope. */
export function withSetup<T>(ctx: Ctx, fn: () => T): { result: T; unmount: () => void } {
  let result!: T
  const Comp = defineComponent({
    setup() {
      result = fn()
      return () => h('div')
    },
  })
  const app = makeApp(ctx, Comp)
  app.mount(document.createElement('div'))
  return { result, unmount: () => app.unmount() }
}

export function log(seq: number, message = `line ${seq}`, level: LogLevel = 'info', stream: LogStream = 'stdout'): LogData {
  return { level, message, timestamp: new Date(1700000000000 + seq).toISOString(), metadata: { stream, seq } }
}

export const tick = () => new Promise((r) => setTimeout(r, 0))

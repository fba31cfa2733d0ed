import { inject, type InjectionKey } from 'vue'
import type { ServerEvents } from '@/models/types'
import { createSocketIoTransport } from './socketio'
import { SubscriptionManager, type SubscriptionErrorHandler } from './subscriptions'
import { extractToken } from './token'
import type { Transport } from './types'
import { createWailsTransport, isWails } from './wails'

export type { Api, ConnectionState, Transport } from './types'
export type { Subscription, SubscriptionHandle } from './subscriptions'
export { SubscriptionManager, roomOf } from './subscriptions'

export const TransportKey: InjectionKey<Transport> = Symbol('transport')
export const SubscriptionsKey: InjectionKey<SubscriptionManager> = Symbol('subscriptions')

export interface Client {
  transport: Transport
  subscriptions: SubscriptionManager
}

/**
 * Chooses the transport once, at start: the Wails bridge inside the desktop window
 * (window.runtime exists), Socket.IO + REST in any browser.
 */
export function createClient(onSubscriptionError?: SubscriptionErrorHandler): Client {
  const w = window as unknown
  let transport: Transport
  if (isWails(w)) {
    transport = createWailsTransport(w)
  } else {
    let storage: Storage | null = null
    try {
      storage = window.sessionStorage
    } catch {
      storage = null
    }
    const token = extractToken(window.location, storage, window.history)
    transport = createSocketIoTransport({ origin: window.location.origin, token, storage })
  }
  return { transport, subscriptions: new SubscriptionManager(transport, onSubscriptionError) }
}

export function useTransport(): Transport {
  const t = inject(TransportKey)
  if (!t) throw new Error('no transport provided')
  return t
}

export function useSubscriptions(): SubscriptionManager {
  const s = inject(SubscriptionsKey)
  if (!s) throw new Error('no subscription manager provided')
  return s
}

/** Typed `transport.on` for the events of protocol §3. */
export function onEvent<K extends keyof ServerEvents>(
  t: Transport,
  event: K,
  handler: (payload: ServerEvents[K]) => void,
): () => void {
  return t.on(event, handler)
}

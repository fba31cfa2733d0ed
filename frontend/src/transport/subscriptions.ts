import { watch, type WatchStopHandle } from 'vue'
import type { Ack, LogLevel } from '@/models/types'
import type { Transport } from './types'

export type Subscription =
  | { type: 'metrics'; serverId: string; interval?: number }
  | { type: 'logs'; serverId: string; level?: LogLevel; tail?: number; batch?: boolean }
  | { type: 'status' }
  | { type: 'system'; interval?: number }

export interface SubscriptionHandle {
  /** Change the parameters (e.g. a new log level); re-subscribes when the effect changes. */
  update(sub: Subscription): void
  /** Drop this holder; the room is left when nobody holds it any more. Idempotent. */
  release(): void
}

export type SubscriptionErrorHandler = (event: string, ack: Extract<Ack, { ok: false }>) => void

/** The room a subscription joins (protocol §2). */
export function roomOf(s: Subscription): string {
  switch (s.type) {
    case 'metrics':
      return `server-metrics-${s.serverId}`
    case 'logs':
      return `server-logs-${s.serverId}`
    case 'status':
      return 'servers-status'
    case 'system':
      return 'system-metrics'
  }
}

function subscribeMessage(s: Subscription): [string, Record<string, unknown>] {
  switch (s.type) {
    case 'metrics':
      return ['subscribe-server-metrics', s.interval ? { serverId: s.serverId, interval: s.interval } : { serverId: s.serverId }]
    case 'logs': {
      const p: Record<string, unknown> = { serverId: s.serverId }
      if (s.level) p.level = s.level
      if (s.tail !== undefined) p.tail = s.tail
      if (s.batch !== undefined) p.batch = s.batch
      return ['subscribe-server-logs', p]
    }
    case 'status':
      return ['subscribe-server-status', {}]
    case 'system':
      return ['subscribe-system-metrics', s.interval ? { interval: s.interval } : {}]
  }
}

/** Several holders of one room: the smallest interval wins; for logs the latest holder's filter. */
function merge(holders: Map<number, Subscription>): Subscription {
  const all = [...holders.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])
  const last = all[all.length - 1]
  if (last.type === 'metrics' || last.type === 'system') {
    const intervals = all
      .map((s) => (s.type === 'metrics' || s.type === 'system' ? s.interval : undefined))
      .filter((n): n is number => typeof n === 'number' && n > 0)
    return intervals.length ? { ...last, interval: Math.min(...intervals) } : { ...last }
  }
  return last
}

interface Room {
  holders: Map<number, Subscription>
  /** what the server has for this socket (JSON of the last subscribe sent), undefined: nothing */
  sent?: string
}

/**
 * Reference-counted subscriptions over a Transport. The server forgets a socket's rooms when it
 * disconnects, so every active room is subscribed again each time the connection comes back.
 */
export class SubscriptionManager {
  private readonly rooms = new Map<string, Room>()
  private nextId = 1
  private readonly stop: WatchStopHandle

  constructor(
    private readonly transport: Transport,
    private readonly onError: SubscriptionErrorHandler = () => {},
  ) {
    this.stop = watch(
      transport.connectionState,
      (state, prev) => {
        if (state === 'connected' && prev !== 'connected') {
          for (const [room, r] of this.rooms) this.sync(room, r, true)
        } else if (state !== 'connected') {
          for (const r of this.rooms.values()) r.sent = undefined
        }
      },
      { flush: 'sync' },
    )
  }

  subscribe(sub: Subscription): SubscriptionHandle {
    const id = this.nextId++
    let room = roomOf(sub)
    let released = false
    this.add(room, id, sub)
    return {
      update: (next: Subscription) => {
        if (released) return
        const nextRoom = roomOf(next)
        if (nextRoom !== room) {
          this.remove(room, id)
          room = nextRoom
        }
        this.add(room, id, next)
      },
      release: () => {
        if (released) return
        released = true
        this.remove(room, id)
      },
    }
  }

  /** Rooms with at least one holder (for tests and the debug view). */
  activeRooms(): string[] {
    return [...this.rooms.keys()]
  }

  dispose(): void {
    this.stop()
    this.rooms.clear()
  }

  private add(room: string, id: number, sub: Subscription) {
    let r = this.rooms.get(room)
    if (!r) {
      r = { holders: new Map() }
      this.rooms.set(room, r)
    }
    r.holders.set(id, sub)
    this.sync(room, r, false)
  }

  private remove(room: string, id: number) {
    const r = this.rooms.get(room)
    if (!r || !r.holders.delete(id)) return
    if (r.holders.size === 0) {
      this.rooms.delete(room)
      if (r.sent !== undefined && this.connected()) void this.send('unsubscribe', { room })
      return
    }
    this.sync(room, r, false)
  }

  private sync(_room: string, r: Room, force: boolean) {
    if (!this.connected()) return
    const [event, payload] = subscribeMessage(merge(r.holders))
    const key = event + JSON.stringify(payload)
    if (!force && r.sent === key) return
    r.sent = key
    void this.send(event, payload)
  }

  private connected() {
    return this.transport.connectionState.value === 'connected'
  }

  private async send(event: string, payload: unknown) {
    const ack = await this.transport.emit(event, payload)
    if (ack && ack.ok === false) this.onError(event, ack)
  }
}

import { describe, expect, it, vi } from 'vitest'
import { FakeTransport } from '@/transport/fake'
import { SubscriptionManager, roomOf } from '@/transport/subscriptions'

function setup(state: 'connected' | 'connecting' = 'connected') {
  const t = new FakeTransport()
  t.connectionState.value = state
  const onError = vi.fn()
  const m = new SubscriptionManager(t, onError)
  return { t, m, onError }
}

describe('SubscriptionManager', () => {
  it('names rooms as the protocol does', () => {
    expect(roomOf({ type: 'metrics', serverId: 'a' })).toBe('server-metrics-a')
    expect(roomOf({ type: 'logs', serverId: 'a' })).toBe('server-logs-a')
    expect(roomOf({ type: 'status' })).toBe('servers-status')
    expect(roomOf({ type: 'system' })).toBe('system-metrics')
  })

  it('subscribes at once when connected and unsubscribes the room on release', () => {
    const { t, m } = setup()
    const h = m.subscribe({ type: 'metrics', serverId: 'w', interval: 2000 })
    expect(t.emitted).toEqual([{ event: 'subscribe-server-metrics', payload: { serverId: 'w', interval: 2000 } }])
    h.release()
    h.release()
    expect(t.emitted[1]).toEqual({ event: 'unsubscribe', payload: { room: 'server-metrics-w' } })
    expect(t.emitted).toHaveLength(2)
    expect(m.activeRooms()).toEqual([])
  })

  it('waits for the connection, then sends every active subscription', () => {
    const { t, m } = setup('connecting')
    m.subscribe({ type: 'status' })
    m.subscribe({ type: 'logs', serverId: 'w', level: 'warn', tail: 500, batch: true })
    expect(t.emitted).toHaveLength(0)
    t.connectionState.value = 'connected'
    expect(t.emitted.map((e) => e.event).sort()).toEqual(['subscribe-server-logs', 'subscribe-server-status'])
    expect(t.emittedEvents('subscribe-server-logs')[0].payload).toEqual({ serverId: 'w', level: 'warn', tail: 500, batch: true })
  })

  it('re-emits all active subscriptions after a reconnect (the server forgot them)', () => {
    const { t, m } = setup()
    m.subscribe({ type: 'status' })
    m.subscribe({ type: 'system', interval: 2000 })
    const gone = m.subscribe({ type: 'metrics', serverId: 'a', interval: 2000 })
    gone.release()
    t.emitted = []
    t.disconnect()
    expect(t.emitted).toHaveLength(0)
    t.reconnect()
    expect(t.emitted).toEqual([
      { event: 'subscribe-server-status', payload: {} },
      { event: 'subscribe-system-metrics', payload: { interval: 2000 } },
    ])
    // and again on the next reconnect
    t.disconnect()
    t.reconnect()
    expect(t.emitted).toHaveLength(4)
  })

  it('does not unsubscribe while disconnected, and forgets the room', () => {
    const { t, m } = setup()
    const h = m.subscribe({ type: 'status' })
    t.disconnect()
    h.release()
    t.reconnect()
    expect(t.emitted.map((e) => e.event)).toEqual(['subscribe-server-status'])
  })

  it('counts holders: the room is left only when the last one goes', () => {
    const { t, m } = setup()
    const a = m.subscribe({ type: 'status' })
    const b = m.subscribe({ type: 'status' })
    expect(t.emittedEvents('subscribe-server-status')).toHaveLength(1)
    a.release()
    expect(t.emittedEvents('unsubscribe')).toHaveLength(0)
    b.release()
    expect(t.emittedEvents('unsubscribe')).toHaveLength(1)
  })

  it('uses the smallest interval of all holders', () => {
    const { t, m } = setup()
    const slow = m.subscribe({ type: 'metrics', serverId: 'a', interval: 5000 })
    const fast = m.subscribe({ type: 'metrics', serverId: 'a', interval: 1000 })
    expect(t.emitted.map((e) => (e.payload as { interval: number }).interval)).toEqual([5000, 1000])
    fast.release()
    expect(t.emitted[2].payload).toEqual({ serverId: 'a', interval: 5000 })
    slow.release()
    expect(t.emitted[3]).toEqual({ event: 'unsubscribe', payload: { room: 'server-metrics-a' } })
  })

  it('re-subscribes with the new level on update, and nothing when unchanged', () => {
    const { t, m } = setup()
    const h = m.subscribe({ type: 'logs', serverId: 'a', level: 'debug', tail: 500, batch: true })
    h.update({ type: 'logs', serverId: 'a', level: 'debug', tail: 500, batch: true })
    expect(t.emitted).toHaveLength(1)
    h.update({ type: 'logs', serverId: 'a', level: 'error', tail: 500, batch: true })
    expect(t.emitted).toHaveLength(2)
    expect((t.emitted[1].payload as { level: string }).level).toBe('error')
    // another server: leave the old room, join the new one
    h.update({ type: 'logs', serverId: 'b', level: 'error', tail: 500, batch: true })
    expect(t.emitted.slice(2).map((e) => e.event)).toEqual(['unsubscribe', 'subscribe-server-logs'])
  })

  it('reports refused subscriptions', async () => {
    const { t, m, onError } = setup()
    t.ackFor = () => ({ ok: false, code: 'UNKNOWN_SERVER', message: 'no such server' })
    m.subscribe({ type: 'metrics', serverId: 'zz' })
    await Promise.resolve()
    await Promise.resolve()
    expect(onError).toHaveBeenCalledWith('subscribe-server-metrics', { ok: false, code: 'UNKNOWN_SERVER', message: 'no such server' })
  })
})

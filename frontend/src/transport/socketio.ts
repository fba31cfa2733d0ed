import { ref } from 'vue'
import { io, type Socket } from 'socket.io-client'
import type { Ack } from '@/models/types'
import { createRestApi } from './rest'
import { storeToken } from './token'
import type { ConnectionState, Transport } from './types'

export interface SocketIoOptions {
  /** e.g. location.origin */
  origin: string
  token: string
  storage: Pick<Storage, 'setItem'> | null
  ackTimeoutMs?: number
}

/** Socket.IO (namespace /monitoring) for events, fetch for REST. Used in any browser. */
export function createSocketIoTransport(opts: SocketIoOptions): Transport {
  const connectionState = ref<ConnectionState>('connecting')
  const lastError = ref('')
  const token = ref(opts.token)
  const ackTimeout = opts.ackTimeoutMs ?? 10000
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let closed = false

  const socket: Socket = io(opts.origin + '/monitoring', {
    transports: ['websocket', 'polling'],
    // A function, so that a reconnect after regenerating the token sends the new one.
    auth: (cb) => cb(token.value ? { token: token.value } : {}),
    // Also in the query: when the server requires the token (requireToken, or bound beyond
    // loopback) it checks every /socket.io/ request, and a browser WebSocket sends no headers.
    query: token.value ? { token: token.value } : {},
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    reconnectionAttempts: Infinity,
    timeout: 20000,
  })

  // Retry by hand when Socket.IO gives up by itself (refused by a middleware, kicked by the server).
  function retryLater(ms: number) {
    if (closed || retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      if (!closed && !socket.connected) {
        connectionState.value = 'reconnecting'
        socket.connect()
      }
    }, ms)
  }

  socket.on('connect', () => {
    connectionState.value = 'connected'
    lastError.value = ''
  })
  socket.on('disconnect', (reason) => {
    if (closed || reason === 'io client disconnect') {
      connectionState.value = 'disconnected'
      return
    }
    connectionState.value = 'reconnecting'
    if (reason === 'io server disconnect') retryLater(1000)
  })
  socket.on('connect_error', (err: Error) => {
    lastError.value = err.message
    if (!socket.active) {
      connectionState.value = 'disconnected'
      retryLater(5000)
    } else if (connectionState.value === 'connected') {
      connectionState.value = 'reconnecting'
    }
  })
  socket.io.on('reconnect_attempt', () => {
    if (connectionState.value !== 'connected') connectionState.value = 'reconnecting'
  })

  async function emit(event: string, payload?: unknown): Promise<Ack> {
    try {
      const s = socket.timeout(ackTimeout)
      const ack = (payload === undefined ? await s.emitWithAck(event) : await s.emitWithAck(event, payload)) as Ack
      return ack && typeof ack === 'object' && 'ok' in ack ? ack : { ok: true }
    } catch (e) {
      return { ok: false, code: 'TIMEOUT', message: `no answer to ${event}: ${(e as Error).message}` }
    }
  }

  function on(event: string, handler: (payload: any) => void): () => void {
    socket.on(event, handler)
    return () => {
      socket.off(event, handler)
    }
  }

  return {
    kind: 'socketio',
    connectionState,
    lastError,
    token,
    emit,
    on,
    setToken(t: string) {
      token.value = t
      socket.io.opts.query = t ? { token: t } : {}
      storeToken(opts.storage, t)
      socket.disconnect()
      connectionState.value = 'reconnecting'
      socket.connect()
    },
    api: createRestApi({ base: opts.origin + '/api/v1', getToken: () => token.value }),
    close() {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      socket.disconnect()
    },
  }
}

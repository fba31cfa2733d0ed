// The /monitoring protocol (shared/docs/protocol.md sections 1–3 and 8; PROTOCOL.md beside the Go
// package) over the real mcpwatch binary, with the stock socket.io-client 4.x connected exactly as
// the original UI does. The protocol suite runs once per transport setting of the original.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import {
  TOKEN, WAIT, ack, build, childServer, closeAll, connect, connectError, debugStats, freePort,
  next, record, sleep, startMcpwatch, until,
} from './lib.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let built; // { bin, child, dir }
let main; // the mcpwatch every protocol test talks to

function mainConfig(child) {
  return {
    servers: [
      // ~200 lines/s, levels cycled: logs, tail, batch, levels
      childServer(child, 'ticker', ['-lines', '-1', '-rate', '200', '-levels', 'debug,info,warn,error']),
      // burns 30% of a core: metrics
      childServer(child, 'burner', ['-cpu', '0.3']),
      // watched by nobody except the sampling test
      childServer(child, 'idle', []),
      // started and stopped by the control tests
      childServer(child, 'ctl', [], { autoStart: false }),
      // prints a line and exits 3: crash, backoff, crash, backoff, crash (gave up)
      childServer(child, 'crasher', ['-lines', '1', '-sleep', '150ms', '-exit', '3'], {
        autoStart: false,
        restart: { policy: 'on-failure', maxRetries: 2, backoffMs: 150 },
      }),
    ],
    // History off: only what someone watches is sampled.
    settings: { historyIntervalMs: -1, stopGraceMs: 2000 },
  };
}

before(async () => {
  built = await build();
  main = await startMcpwatch({
    bin: built.bin, dir: join(built.dir, 'main'), config: mainConfig(built.child), port: await freePort(),
  });
  assert.equal(main.token, TOKEN, 'the ready line carries the token of MCPWATCH_TOKEN');
}, { timeout: 600000 });

after(async () => {
  await main?.stop();
  await built?.cleanup();
});

function checkProcessInfo(ev, serverId) {
  assert.equal(ev.serverId, serverId);
  assert.match(ev.timestamp, ISO);
  const p = ev.processInfo;
  assert.ok(Number.isInteger(p.pid) && p.pid > 0, `pid ${p.pid}`);
  assert.equal(typeof p.cpu, 'number');
  assert.ok(p.cpu >= 0, `cpu ${p.cpu}`);
  assert.deepEqual(Object.keys(p.memory).sort(), ['external', 'heapTotal', 'heapUsed', 'rss']);
  assert.ok(p.memory.rss > 0, `rss ${p.memory.rss}`);
  assert.equal(p.memory.heapUsed, 0);
  assert.equal(p.memory.heapTotal, 0);
  assert.equal(p.memory.external, 0);
  assert.ok(Number.isInteger(p.uptime) && p.uptime >= 0, `uptime ${p.uptime}`);
  assert.match(p.timestamp, ISO);
  assert.equal(p.status, 'running');
  assert.ok(Number.isInteger(p.tree.processes) && p.tree.processes >= 1, `tree.processes ${p.tree.processes}`);
  assert.equal(typeof p.tree.cpu, 'number');
  assert.ok(p.tree.rss >= p.memory.rss, `tree.rss ${p.tree.rss} < rss ${p.memory.rss}`);
  assert.ok(Number.isInteger(p.restartCount), `restartCount ${p.restartCount}`);
}

/** Counts `event` on socket during ms from now. */
async function countFor(socket, event, ms) {
  const r = record(socket, event);
  await sleep(ms);
  r.stop();
  return r.items;
}

const samplesOf = async (id) => (await debugStats(main.url)).hub.samples[id] ?? 0;

for (const transports of [['websocket', 'polling'], ['websocket'], ['polling']]) {
  describe(`protocol over ${transports.join(' + ')}`, () => {
    const open = (extra) => connect(main.url, transports, extra);

    it('sends connection-established on connect', async () => {
      // Listening before the connection is made: the event is the first the server sends.
      const s = io(`${main.url}/monitoring`, {
        transports, timeout: 20000, reconnection: true, reconnectionAttempts: 5, reconnectionDelay: 1000,
      });
      try {
        const est = await next(s, 'connection-established');
        assert.equal(typeof est.clientId, 'string');
        assert.ok(est.clientId.length > 0);
        assert.equal(est.clientId, s.id, 'clientId is the socket id');
        assert.equal(est.transport, transports[0]);
        assert.equal(typeof est.serverVersion, 'string');
        assert.match(est.timestamp, ISO);
      } finally {
        s.close();
      }
    });

    it('subscribe-server-metrics: one process:info at once, then one per interval, every field', async () => {
      const s = await open();
      const once = await open();
      try {
        // At once: with an interval of 60 s, any process:info within the deadline is the one
        // sent on subscribing.
        const first = next(once, 'process:info');
        assert.deepEqual(await ack(once, 'subscribe-server-metrics', { serverId: 'burner', interval: 60000 }),
          { ok: true, room: 'server-metrics-burner', interval: 60000 });
        checkProcessInfo(await first, 'burner');

        const infos = record(s, 'process:info');
        const confirmed = next(s, 'subscription-confirmed');
        const a = await ack(s, 'subscribe-server-metrics', { serverId: 'burner', interval: 1000 });
        assert.deepEqual(a, { ok: true, room: 'server-metrics-burner', interval: 1000 });
        const c = await confirmed;
        assert.equal(c.room, 'server-metrics-burner');
        assert.equal(c.serverId, 'burner');
        assert.equal(c.interval, 1000);
        assert.match(c.timestamp, ISO);
        await until('three process:info', () => infos.items.length >= 3);
        infos.stop();
        for (const ev of infos.items) checkProcessInfo(ev, 'burner');
        // Sent at once, then at the interval (server clock; a loaded machine only stretches it).
        const sent = infos.items.map((e) => Date.parse(e.timestamp));
        assert.ok(sent[0] - Date.parse(c.timestamp) < 2000, 'the first one is not at once');
        for (let i = 1; i < sent.length; i++) assert.ok(sent[i] - sent[i - 1] >= 700, `gap ${sent[i] - sent[i - 1]} ms`);
        // CPU over a sample interval (the first sample of a process nobody watched may have no
        // interval to measure over).
        const cpu = infos.items.at(-1).processInfo.cpu;
        assert.ok(cpu > 5 && cpu < 100, `burner at 30% of a core shows cpu ${cpu}`);
      } finally {
        closeAll(s, once);
      }
    });

    it('per-socket rates (1000 vs 3000 ms) and no sampling of what nobody watches', async () => {
      // Both at once: they watch different servers.
      const rates = async () => {
        const a = await open();
        const b = await open();
        try {
          const ra = record(a, 'process:info');
          const rb = record(b, 'process:info');
          await Promise.all([
            ack(a, 'subscribe-server-metrics', { serverId: 'burner', interval: 1000 }),
            ack(b, 'subscribe-server-metrics', { serverId: 'burner', interval: 3000 }),
          ]);
          await sleep(6000);
          ra.stop();
          rb.stop();
          const na = ra.items.length;
          const nb = rb.items.length;
          // About 6–7 against 2–3, the first one at once. A loaded machine can only delay
          // samples, so the counts have room below; the gaps (server clock) show each socket
          // gets its own rate: never faster than it asked, the fast one at its rate.
          assert.ok(na >= 3 && na <= 8, `1000 ms socket got ${na} in 6 s`);
          assert.ok(nb >= 1 && nb <= 3, `3000 ms socket got ${nb} in 6 s`);
          assert.ok(na > nb, `rates ${na} vs ${nb}`);
          const gaps = (items) => items.slice(1).map((e, i) => Date.parse(e.timestamp) - Date.parse(items[i].timestamp));
          const ga = gaps(ra.items);
          assert.ok(ga.every((g) => g >= 700) && ga.some((g) => g <= 1500), `1000 ms socket: gaps ${ga}`);
          const gb = gaps(rb.items);
          assert.ok(gb.every((g) => g >= 2700), `3000 ms socket: gaps ${gb}`);
        } finally {
          closeAll(a, b);
        }
      };
      const onDemand = async () => {
        const s0 = await samplesOf('idle');
        await sleep(2500);
        const s1 = await samplesOf('idle');
        assert.equal(s1, s0, 'an unwatched server was sampled');
        const s = await open();
        try {
          await ack(s, 'subscribe-server-metrics', { serverId: 'idle', interval: 1000 });
          await until(`idle sampled while watched (from ${s1})`, async () => (await samplesOf('idle')) >= s1 + 3);
          await ack(s, 'unsubscribe', { serverId: 'idle', type: 'metrics' });
          await sleep(300);
          const s3 = await samplesOf('idle');
          await sleep(2500);
          const s4 = await samplesOf('idle');
          assert.equal(s4, s3, 'sampling went on after the last watcher left');
        } finally {
          s.close();
        }
      };
      await Promise.all([rates(), onDemand()]);
    });

    it("subscribe-server-logs with level 'warn' gets only warn and error", async () => {
      const s = await open();
      try {
        const logs = record(s, 'process:logs');
        const a = await ack(s, 'subscribe-server-logs', { serverId: 'ticker', level: 'warn', tail: 20 });
        assert.deepEqual(a, { ok: true, room: 'server-logs-ticker', level: 'warn' });
        await until('60 log entries', () => logs.items.length >= 60);
        logs.stop();
        const levels = new Set(logs.items.map((e) => e.logData.level));
        assert.deepEqual([...levels].sort(), ['error', 'warn']);
        for (const e of logs.items) {
          assert.equal(e.serverId, 'ticker');
          assert.match(e.timestamp, ISO);
          assert.match(e.logData.timestamp, ISO);
          assert.match(e.logData.message, /^(WARN|ERROR) line \d+$/);
          assert.equal(e.logData.metadata.stream, 'stdout');
          assert.ok(Number.isInteger(e.logData.metadata.seq));
        }
      } finally {
        s.close();
      }
    });

    it('tail replays the last N with metadata.replay, then live ones: no gap, no duplicate', async () => {
      const s = await open();
      try {
        const logs = record(s, 'process:logs');
        await ack(s, 'subscribe-server-logs', { serverId: 'ticker', tail: 50 });
        await until('300 log entries', () => logs.items.length >= 300);
        logs.stop();
        const items = logs.items;
        const replayed = items.filter((e) => e.logData.metadata.replay === true);
        assert.equal(replayed.length, 50, 'tail: 50 replays 50 entries');
        assert.ok(items.slice(0, 50).every((e) => e.logData.metadata.replay === true), 'the replay comes first');
        assert.ok(items.slice(50).every((e) => e.logData.metadata.replay === undefined), 'live entries are not marked');
        const seqs = items.map((e) => e.logData.metadata.seq);
        for (let i = 1; i < seqs.length; i++) {
          assert.equal(seqs[i], seqs[i - 1] + 1, `seq ${seqs[i - 1]} then ${seqs[i]} at ${i} (replay ends at 50)`);
        }
      } finally {
        s.close();
      }
    });

    it('batch: true gets process:logs:batch instead of process:logs', async () => {
      const s = await open();
      try {
        const batches = record(s, 'process:logs:batch');
        const single = record(s, 'process:logs');
        await ack(s, 'subscribe-server-logs', { serverId: 'ticker', tail: 10, batch: true });
        await until('two batches', () => batches.items.length >= 2);
        const t0 = Date.now();
        const n0 = batches.items.length;
        await sleep(1000);
        batches.stop();
        single.stop();
        assert.equal(single.items.length, 0, 'a batched subscriber got process:logs');
        const first = batches.items[0];
        assert.equal(first.serverId, 'ticker');
        assert.match(first.timestamp, ISO);
        assert.ok(Array.isArray(first.entries) && first.entries.length >= 10);
        assert.ok(first.entries.slice(0, 10).every((e) => e.metadata.replay === true), 'the tail comes first, in the batch');
        const inSecond = batches.items.length - n0;
        assert.ok(inSecond >= 2, `${inSecond} batches in ${Date.now() - t0} ms`);
        // At most one per 100 ms, by the server's send times.
        const sent = batches.items.map((b) => Date.parse(b.timestamp));
        for (let i = 1; i < sent.length; i++) assert.ok(sent[i] - sent[i - 1] >= 99, `batches ${sent[i] - sent[i - 1]} ms apart`);
        const seqs = batches.items.flatMap((b) => b.entries.map((e) => e.metadata.seq));
        for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `batched seq gap at ${i}`);
      } finally {
        s.close();
      }
    });

    it('unsubscribe by room and by serverId: nothing more arrives', async () => {
      const s = await open();
      try {
        await ack(s, 'subscribe-server-metrics', { serverId: 'burner', interval: 1000 });
        await ack(s, 'subscribe-server-logs', { serverId: 'ticker', tail: 0 });
        await ack(s, 'subscribe-server-logs', { serverId: 'burner', tail: 0 });
        await next(s, 'process:logs');
        const confirmed = next(s, 'unsubscription-confirmed');
        const a = await ack(s, 'unsubscribe', { room: 'server-logs-ticker' });
        assert.deepEqual(a, { ok: true, rooms: ['server-logs-ticker'] });
        const c = await confirmed;
        assert.deepEqual(c.rooms, ['server-logs-ticker']);
        assert.match(c.timestamp, ISO);
        await sleep(300); // what was on the wire already
        const [logs, infos] = await Promise.all([countFor(s, 'process:logs', 2000), countFor(s, 'process:info', 2000)]);
        assert.equal(logs.length, 0, 'process:logs after unsubscribe by room');
        if (infos.length === 0) await next(s, 'process:info'); // the other room goes on

        // By serverId, without an ack callback: the reply is the event.
        const confirmed2 = next(s, 'unsubscription-confirmed');
        s.emit('unsubscribe', { serverId: 'burner' });
        assert.deepEqual((await confirmed2).rooms, ['server-metrics-burner', 'server-logs-burner']);
        await sleep(300);
        assert.equal((await countFor(s, 'process:info', 2500)).length, 0, 'process:info after unsubscribe by serverId');

        const status = next(s, 'connection-status');
        const st = await ack(s, 'get-connection-status');
        assert.deepEqual(st.subscriptions, []);
        const ev = await status;
        assert.equal(ev.clientId, s.id);
        assert.deepEqual(ev.subscriptions, []);
        assert.match(ev.connectedAt, ISO);
        // Idempotent.
        assert.equal((await ack(s, 'unsubscribe', { serverId: 'burner', type: 'logs' })).ok, true);
      } finally {
        s.close();
      }
    });

    it('control needs the token; server-status-changed for start, stop, crash and backoff', async () => {
      const anon = await open();
      const admin = await open({ auth: { token: TOKEN } });
      try {
        const refused = next(anon, 'subscription-error');
        const r = await ack(anon, 'start-server', { serverId: 'ctl' });
        assert.equal(r.ok, false);
        assert.equal(r.code, 'UNAUTHORIZED');
        assert.equal((await refused).code, 'UNAUTHORIZED');
        for (const ev of ['stop-server', 'restart-server']) {
          assert.equal((await ack(anon, ev, { serverId: 'ctl' })).code, 'UNAUTHORIZED');
        }

        assert.equal((await ack(admin, 'subscribe-server-status', {})).ok, true);
        const events = record(admin, 'server-status-changed');
        const seen = (id, status, pred = () => true) =>
          until(`${id} ${status}`, () => events.items.find((e) => e.serverId === id && e.status === status && pred(e)));

        const started = await ack(admin, 'start-server', { serverId: 'ctl' });
        assert.equal(started.ok, true, JSON.stringify(started));
        const running = await seen('ctl', 'running');
        assert.ok(running.pid > 0);
        assert.match(running.timestamp, ISO);
        await seen('ctl', 'starting');
        const stopped = await ack(admin, 'stop-server', { serverId: 'ctl' });
        assert.deepEqual([stopped.ok, stopped.status], [true, 'stopped']);
        await seen('ctl', 'stopping');
        const st = await seen('ctl', 'stopped');
        assert.equal(st.previousStatus, 'stopping');

        assert.equal((await ack(admin, 'start-server', { serverId: 'crasher' })).ok, true);
        const crash = await seen('crasher', 'crashed', (e) => e.exitCode === 3);
        assert.equal(crash.previousStatus, 'running');
        const backoff = await seen('crasher', 'backoff');
        assert.equal(backoff.previousStatus, 'crashed');
        assert.ok(backoff.restartCount >= 1);
        // Gives up after maxRetries: crashed for good, with the reason.
        const last = await seen('crasher', 'crashed', (e) => e.restartCount === 2 && e.error);
        assert.equal(last.exitCode, 3);
        events.stop();
        for (const e of events.items) {
          assert.ok(['stopped', 'starting', 'running', 'stopping', 'crashed', 'backoff'].includes(e.status));
          assert.equal(typeof e.previousStatus, 'string');
          assert.ok(Number.isInteger(e.restartCount));
        }
        // Unknown server, with the token.
        assert.equal((await ack(admin, 'start-server', { serverId: 'nope' })).code, 'UNKNOWN_SERVER');
      } finally {
        closeAll(anon, admin);
      }
    });

    it('subscribe-system-metrics gives system-metrics-update at its interval', async () => {
      const s = await open();
      try {
        const ups = record(s, 'system-metrics-update');
        const a = await ack(s, 'subscribe-system-metrics', { interval: 1000 });
        assert.deepEqual(a, { ok: true, room: 'system-metrics', interval: 1000 });
        await until('two updates', () => ups.items.length >= 2);
        ups.stop();
        const u = ups.items[1];
        assert.ok(u.cpu >= 0 && u.cpu <= 100, `cpu ${u.cpu}`);
        assert.ok(Number.isInteger(u.cpus) && u.cpus >= 1);
        assert.ok(u.memory.total > 0 && u.memory.used > 0 && u.memory.available > 0);
        assert.equal(u.load.length, 3);
        assert.match(u.timestamp, ISO);
      } finally {
        s.close();
      }
    });

    it('every bad input is refused; the connection stays up, joins nothing, leaks nothing', async () => {
      // The baseline, once the server has let go of the sockets of the tests before (a client's
      // close does not wait for the server).
      const before = await until('no socket left from the tests before', async () => {
        const st = await debugStats(main.url);
        return st.hub.clients === 0 && st.hub.subscriptions === 0 && st;
      });
      const s = await open();
      try {
        const errors = record(s, 'subscription-error');
        const cases = [
          ['subscribe-server-metrics', [], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [{}], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [{ serverId: 42 }], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [{ serverId: 'Not An Id!' }], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [{ serverId: 'nope' }], 'UNKNOWN_SERVER'],
          ['subscribe-server-metrics', ['burner'], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [null], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [{ serverId: 'burner', interval: 0 }], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [{ serverId: 'burner', interval: 1e12 }], 'INVALID_PAYLOAD'],
          ['subscribe-server-metrics', [{ serverId: 'burner', interval: 'fast' }], 'INVALID_PAYLOAD'],
          ['subscribe-server-logs', [{ serverId: 'ticker', level: 'loud' }], 'INVALID_PAYLOAD'],
          ['subscribe-server-logs', [{ serverId: 'ticker', tail: -1 }], 'INVALID_PAYLOAD'],
          ['subscribe-server-logs', [{ serverId: 'ticker', tail: 1.5 }], 'INVALID_PAYLOAD'],
          ['subscribe-server-logs', [{ serverId: 'ticker', batch: 'yes' }], 'INVALID_PAYLOAD'],
          ['subscribe-server-logs', [[1, 2]], 'INVALID_PAYLOAD'],
          ['subscribe-server-logs', [{ serverId: 'nope' }], 'UNKNOWN_SERVER'],
          ['unsubscribe', [{}], 'INVALID_PAYLOAD'],
          ['unsubscribe', [{ room: 'no-such-room' }], 'INVALID_PAYLOAD'],
          ['unsubscribe', [{ serverId: 'burner', type: 'cpu' }], 'INVALID_PAYLOAD'],
          ['subscribe-server-status', ['now'], 'INVALID_PAYLOAD'],
          ['subscribe-system-metrics', [{ interval: -5 }], 'INVALID_PAYLOAD'],
          ['start-server', [{}], 'INVALID_PAYLOAD'],
          ['stop-server', [7], 'INVALID_PAYLOAD'],
          ['no-such-event', [{}], 'UNKNOWN_EVENT'],
          ['subscribe-server-metrics', [{ serverId: 'burner', pad: 'x'.repeat((1 << 20) + 100) }], 'INVALID_PAYLOAD'],
        ];
        for (const [event, args, code] of cases) {
          const a = await ack(s, event, ...args);
          assert.equal(a.ok, false, `${event} ${JSON.stringify(args).slice(0, 80)} → ${JSON.stringify(a)}`);
          assert.equal(a.code, code, `${event} ${JSON.stringify(args).slice(0, 80)}`);
          assert.equal(typeof a.message, 'string');
        }
        // Without an ack callback the refusal comes as subscription-error.
        s.emit('subscribe-server-logs', 'ticker');
        await until('a subscription-error per refusal', () => errors.items.length >= cases.length + 1);
        const lastErr = errors.items.at(-1);
        assert.deepEqual([lastErr.event, lastErr.code], ['subscribe-server-logs', 'INVALID_PAYLOAD']);
        assert.match(lastErr.timestamp, ISO);

        const pong = next(s, 'pong');
        assert.equal((await ack(s, 'ping')).ok, true);
        assert.equal(typeof (await pong).serverTime, 'number');
        assert.deepEqual((await ack(s, 'get-connection-status')).subscriptions, [], 'a refused event joined a room');
        assert.equal(s.connected, true);

        // 1 000 subscribes in a second: the excess is refused, every one is answered.
        const flood = await Promise.all(
          Array.from({ length: 1000 }, () => ack(s, 'subscribe-server-metrics', { serverId: 'burner', interval: 60000 })),
        );
        const limited = flood.filter((a) => !a.ok);
        assert.ok(limited.length >= 500, `${limited.length} of 1000 refused`);
        assert.ok(limited.every((a) => a.code === 'RATE_LIMITED'), 'refused with RATE_LIMITED');
        assert.equal(s.connected, true);
        // The bucket is empty now: what follows waits for tokens.
        await until('unsubscribe after the flood', async () => (await ack(s, 'unsubscribe', { serverId: 'burner' })).ok);
        const st = await until('connection status after the flood', async () => {
          const a = await ack(s, 'get-connection-status');
          return a.ok && a;
        });
        assert.deepEqual(st.subscriptions, []);
      } finally {
        s.close();
      }
      // Nothing left over once the socket is gone.
      const want = { goroutines: before.goroutines, clients: before.hub.clients, subscriptions: before.hub.subscriptions };
      let last;
      await until(
        'goroutines, clients and subscriptions back to where they were',
        async () => {
          const st = await debugStats(main.url);
          last = { goroutines: st.goroutines, clients: st.hub.clients, subscriptions: st.hub.subscriptions };
          return last.goroutines <= want.goroutines && last.clients === want.clients && last.subscriptions === want.subscriptions;
        },
        WAIT,
        200,
      ).catch((err) => {
        throw new Error(`${err.message}: before ${JSON.stringify(want)}, now ${JSON.stringify(last)}`);
      });
    });

    it('events of one socket are handled in order', async () => {
      const s = await open();
      try {
        let last;
        for (let i = 0; i < 20; i++) {
          s.emit('subscribe-server-metrics', { serverId: 'burner', interval: 60000 });
          s.emit('subscribe-server-logs', { serverId: 'ticker', tail: 0 });
          last = ack(s, 'unsubscribe', { serverId: i % 2 ? 'burner' : 'ticker' });
          s.emit('unsubscribe', { serverId: i % 2 ? 'ticker' : 'burner' });
        }
        await last;
        assert.deepEqual((await ack(s, 'get-connection-status')).subscriptions, []);
      } finally {
        s.close();
      }
    });
  });
}

describe('upgrade', () => {
  it('polling upgrades to websocket and the session knows it', async () => {
    const s = await connect(main.url, ['polling', 'websocket']);
    try {
      const engine = s.io.engine;
      if (engine.transport.name !== 'websocket') await new Promise((res) => engine.once('upgrade', res));
      await until('transport websocket', async () => (await ack(s, 'get-connection-status')).transport === 'websocket');
      await ack(s, 'subscribe-server-metrics', { serverId: 'burner', interval: 1000 });
      checkProcessInfo(await next(s, 'process:info'), 'burner');
    } finally {
      s.close();
    }
  });
});

describe('security', () => {
  const evil = { Origin: 'http://evil.example' };

  it('a foreign Origin is refused on polling (socket.io-client extraHeaders)', async () => {
    const err = await connectError(main.url, ['polling'], { extraHeaders: evil });
    assert.ok(err instanceof Error);
  });

  it('a foreign Origin is refused on a raw WebSocket upgrade (403), an allowed one is not', async () => {
    const url = `ws://localhost:${main.port}/socket.io/?EIO=4&transport=websocket`;
    const status = (headers) =>
      new Promise((res, rej) => {
        const ws = new WebSocket(url, { headers });
        const timer = setTimeout(() => {
          ws.terminate();
          rej(new Error('no answer'));
        }, WAIT);
        ws.on('unexpected-response', (_req, resp) => {
          clearTimeout(timer);
          resp.resume();
          ws.terminate();
          res(resp.statusCode);
        });
        ws.on('open', () => {
          clearTimeout(timer);
          ws.close();
          res(101);
        });
        ws.on('error', () => {});
      });
    assert.equal(await status(evil), 403);
    assert.equal(await status({ Host: `evil.example:${main.port}` }), 403, 'DNS rebinding: foreign Host');
    assert.equal(await status({ Origin: 'http://localhost:3000' }), 101, 'the default allowed origin');
    assert.equal(await status({}), 101, 'no Origin (not a browser)');
    const err = await connectError(main.url, ['websocket'], { extraHeaders: evil });
    assert.ok(err instanceof Error);
  });

  it('a wrong token is refused even where the token is optional', async () => {
    const err = await connectError(main.url, ['websocket'], { auth: { token: 'wrong' } });
    assert.equal(err.message, 'UNAUTHORIZED');
  });
});

describe('requireToken: true', () => {
  let guarded;
  before(async () => {
    const config = mainConfig(built.child);
    config.servers = [childServer(built.child, 'burner', ['-cpu', '0.1'])];
    config.settings.requireToken = true;
    guarded = await startMcpwatch({ bin: built.bin, dir: join(built.dir, 'guarded'), config, port: await freePort() });
  });
  after(() => guarded?.stop());

  const subscribeWorks = async (s) => {
    await ack(s, 'subscribe-server-metrics', { serverId: 'burner', interval: 1000 });
    checkProcessInfo(await next(s, 'process:info'), 'burner');
  };

  for (const transports of [['websocket', 'polling'], ['polling']]) {
    it(`${transports.join(' + ')}: without the token, or with a wrong one, the connection fails`, async () => {
      assert.ok((await connectError(guarded.url, transports)) instanceof Error);
      assert.ok((await connectError(guarded.url, transports, { auth: { token: 'wrong' } })) instanceof Error);
      assert.ok((await connectError(guarded.url, transports, { auth: { token: 'wrong' }, query: { token: 'wrong' } })) instanceof Error);
    });

    it(`${transports.join(' + ')}: with the token in the handshake and the query it works`, async () => {
      const s = await connect(guarded.url, transports, { auth: { token: TOKEN }, query: { token: TOKEN } });
      try {
        await subscribeWorks(s);
      } finally {
        s.close();
      }
    });

    // protocol.md 8.4: the handshake's auth: { token } is enough (a browser over WebSocket cannot
    // send headers): the HTTP guard leaves a request without a token to the handshake.
    it(`${transports.join(' + ')}: with auth: { token } alone it works`, async () => {
      const s = await connect(guarded.url, transports, { auth: { token: TOKEN }, reconnection: false });
      try {
        await subscribeWorks(s);
      } finally {
        s.close();
      }
    });
  }
});

describe('restart of mcpwatch', () => {
  it('the client reconnects by itself to a restarted server on the same port and works once it subscribes again', async () => {
    const config = mainConfig(built.child);
    config.servers = [childServer(built.child, 'burner', ['-cpu', '0.1'])];
    const dir = join(built.dir, 'restart');
    const port = await freePort();
    let srv = await startMcpwatch({ bin: built.bin, dir, config, port });
    const s = await connect(srv.url, ['websocket', 'polling']);
    try {
      await ack(s, 'subscribe-server-metrics', { serverId: 'burner', interval: 1000 });
      await next(s, 'process:info');
      const firstId = s.id;
      const disconnected = new Promise((res) => s.once('disconnect', res));
      await srv.stop();
      await disconnected;
      const reconnected = new Promise((res) => s.once('connect', res));
      srv = await startMcpwatch({ bin: built.bin, dir, port });
      await Promise.race([reconnected, sleep(WAIT).then(() => { throw new Error('no reconnect'); })]);
      assert.equal(s.connected, true);
      assert.notEqual(s.id, firstId, 'a new session');
      await ack(s, 'subscribe-server-metrics', { serverId: 'burner', interval: 1000 });
      checkProcessInfo(await next(s, 'process:info'), 'burner');
    } finally {
      s.close();
      await srv.stop();
    }
  });
});

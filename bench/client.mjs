// A load client of make bench, forked by run.mjs (several of them, so that one Node thread is not
// the bottleneck): it holds K stock socket.io-client sockets on /monitoring, subscribes them to a
// server's logs (one process:logs per line, or process:logs:batch), and counts what arrives.
//
// The load child writes `INFO line N t=<unix µs>` (testchild -stamp), so every socket can tell
// which lines were written in the measurement window [t0, t1] (by their stamp) and how late each
// arrived. Commands over IPC (each answered with { id, ok, ... }):
//   { cmd: 'connect', url, sockets, serverId, batch }   connect and subscribe, ack each
//   { cmd: 'window', t0, t1 }                           the window, in unix µs (set before t0)
//   { cmd: 'collect', latencies }                       per-socket counts (and raw latencies)
//   { cmd: 'close' }                                    close every socket
import { io } from 'socket.io-client';

const LINE = /line (\d+) t=(\d+)/;
let sockets = [];
let win = { t0: Infinity, t1: -Infinity };
let stats = [];
let keepLatencies = false;

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

function newStats() {
  return { inWindow: new Set(), arrivedInWindow: 0, lat: [], minLine: Infinity, maxLine: -Infinity, dropped: 0, events: 0 };
}

function onEntry(st, logData, at) {
  if (!logData || (logData.metadata && logData.metadata.stream === 'system')) return;
  const m = LINE.exec(logData.message);
  if (!m) return;
  const line = Number(m[1]);
  const stamp = Number(m[2]);
  if (at >= win.t0 && at <= win.t1) st.arrivedInWindow++;
  if (stamp < win.t0 || stamp > win.t1) return;
  st.inWindow.add(line);
  if (line < st.minLine) st.minLine = line;
  if (line > st.maxLine) st.maxLine = line;
  st.lat.push((at - stamp) / 1000); // ms
}

function connectOne(url, serverId, batch) {
  return new Promise((resolve, reject) => {
    const s = io(`${url}/monitoring`, {
      transports: ['websocket', 'polling'],
      timeout: 20000,
      reconnection: false,
      forceNew: true,
    });
    const st = newStats();
    s.on('process:logs', (e) => {
      st.events++;
      onEntry(st, e.logData, nowUs());
    });
    s.on('process:logs:batch', (e) => {
      st.events++;
      const at = nowUs();
      for (const d of e.entries) onEntry(st, d, at);
    });
    s.on('process:logs:dropped', (e) => {
      st.dropped += e.count;
    });
    const timer = setTimeout(() => reject(new Error('connect timeout')), 30000);
    s.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once('connect', () => {
      // tail 0 (MCP Watch): live lines only; the reference ignores the extra fields
      s.timeout(30000).emit('subscribe-server-logs', { serverId, tail: 0, batch }, (err, ack) => {
        clearTimeout(timer);
        if (err || !ack || ack.ok === false) reject(new Error(`subscribe: ${err?.message ?? JSON.stringify(ack)}`));
        else resolve({ s, st });
      });
    });
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

process.on('message', async (msg) => {
  const reply = (x) => process.send({ id: msg.id, ok: true, ...x });
  try {
    switch (msg.cmd) {
      case 'connect': {
        win = { t0: Infinity, t1: -Infinity };
        const got = [];
        // a few at a time: 200 handshakes at once would measure the accept queue
        for (let i = 0; i < msg.sockets; i += 10) {
          const n = Math.min(10, msg.sockets - i);
          got.push(...(await Promise.all(Array.from({ length: n }, () => connectOne(msg.url, msg.serverId, msg.batch)))));
        }
        sockets = got.map((g) => g.s);
        stats = got.map((g) => g.st);
        reply({ sockets: sockets.length });
        break;
      }
      case 'window':
        win = { t0: msg.t0, t1: msg.t1 };
        for (const st of stats) Object.assign(st, newStats()); // in place: the handlers hold them
        keepLatencies = !!msg.latencies;
        reply({});
        break;
      case 'collect': {
        const lat = [];
        for (const st of stats) for (const v of st.lat) lat.push(v);
        lat.sort((a, b) => a - b);
        reply({
          perSocket: stats.map((st) => ({
            received: st.inWindow.size,
            arrivedInWindow: st.arrivedInWindow,
            minLine: st.minLine === Infinity ? null : st.minLine,
            maxLine: st.maxLine === -Infinity ? null : st.maxLine,
            dropped: st.dropped,
            events: st.events,
          })),
          p50: percentile(lat, 50),
          p99: percentile(lat, 99),
          max: lat.length ? lat[lat.length - 1] : null,
          latencies: keepLatencies || msg.latencies ? lat : undefined,
        });
        break;
      }
      case 'close':
        for (const s of sockets) s.close();
        sockets = [];
        stats = [];
        reply({});
        break;
      case 'exit':
        process.exit(0);
    }
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.send({ ready: true });

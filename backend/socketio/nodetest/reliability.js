// Reliability scenarios against the real mcpwatch binary (issue 6): socket churn, a log flood
// with stalled subscribers, a start/stop loop of many servers. Each takes its length and sizes as
// parameters and returns its figures; reliability.test.js runs short versions in `make test`,
// soak.mjs the full ones in `make soak`. Loopback only, bounded in count and time.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { TOKEN, WAIT, ack, childServer, debugStats, freePort, sleep, startMcpwatch, until } from './lib.js';

/** Resident set size of pid in bytes (Linux /proc). */
export async function rss(pid) {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = s.match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Open file descriptors of pid (Linux /proc). */
export async function fdCount(pid) {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** Every process below pid (Linux /proc), with its command line. */
export async function descendants(pid) {
  const parent = new Map();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z') continue; // a zombie is gone, only not reaped yet
      parent.set(Number(name), Number(rest[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const walk = (p) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

const MiB = 1 << 20;
export const mib = (b) => Math.round((b / MiB) * 10) / 10;

/** REST call with the token; returns the parsed JSON. */
export async function api(url, method, path, body) {
  const r = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Samples the RSS of pid every `every` ms until stop(); returns { peak, samples, stop }. */
function rssWatch(pid, every = 250) {
  const w = { peak: 0, samples: [] };
  let on = true;
  const loop = (async () => {
    while (on) {
      try {
        const v = await rss(pid);
        w.samples.push(v);
        w.peak = Math.max(w.peak, v);
      } catch {
        return;
      }
      await sleep(every);
    }
  })();
  w.stop = async () => {
    on = false;
    await loop;
  };
  return w;
}

/** Waits until the monitor's RSS stops falling: three readings in a row within 2 MiB. */
async function settledRss(pid, ms = 15000) {
  const end = Date.now() + ms;
  let last = await rss(pid);
  let calm = 0;
  while (Date.now() < end && calm < 3) {
    await sleep(500);
    const v = await rss(pid);
    calm = Math.abs(v - last) < 2 * MiB ? calm + 1 : 0;
    last = v;
  }
  return last;
}

/** A connection that is not awaited: resolves once connected or rejects on connect_error. */
function openSocket(url, transports) {
  const s = io(`${url}/monitoring`, { transports, reconnection: false, timeout: WAIT, forceNew: true });
  const ready = new Promise((res, rej) => {
    s.once('connect', () => res(s));
    s.once('connect_error', rej);
  });
  return { s, ready };
}

/**
 * Churn: `sockets` connections at a time, each connecting (websocket, or polling with upgrade),
 * subscribing to metrics, logs and status and disconnecting after a random life, replaced at
 * once, for `ms`. Afterwards clients, subscriptions and goroutines must return to the baseline
 * and the RSS must settle.
 */
export async function churn({ bin, child, dir, ms, sockets }) {
  const config = {
    servers: [
      childServer(child, 'ticker', ['-lines', '-1', '-rate', '100', '-levels', 'debug,info,warn,error']),
      childServer(child, 'burner', ['-cpu', '0.05']),
    ],
    settings: { historyIntervalMs: -1 },
  };
  const mw = await startMcpwatch({ bin, dir, config, port: await freePort() });
  const pid = mw.proc.pid;
  try {
    await until('servers running', async () => {
      const { servers } = await api(mw.url, 'GET', '/servers');
      return servers.every((s) => s.state.status === 'running');
    });
    await sleep(500);
    const base = await debugStats(mw.url);
    const baseRss = await settledRss(pid);
    const watch = rssWatch(pid);
    let opened = 0;
    let failed = 0;
    let peakClients = 0;
    const errors = [];
    const end = Date.now() + ms;
    const life = async (k) => {
      while (Date.now() < end) {
        const transports = k % 2 ? ['websocket'] : ['polling', 'websocket'];
        const { s, ready } = openSocket(mw.url, transports);
        try {
          await ready;
          opened++;
          const id = k % 3 ? 'ticker' : 'burner';
          s.emit('subscribe-server-metrics', { serverId: 'burner', interval: 1000 });
          s.emit('subscribe-server-logs', { serverId: id, tail: 20, batch: k % 4 === 0 });
          s.emit('subscribe-server-status', {});
          await sleep(100 + Math.random() * 900);
        } catch (err) {
          failed++;
          if (errors.length < 5) errors.push(String(err?.message ?? err));
          await sleep(100);
        } finally {
          s.close();
        }
      }
    };
    const sampler = (async () => {
      while (Date.now() < end) {
        try {
          peakClients = Math.max(peakClients, (await debugStats(mw.url)).hub.clients);
        } catch {
          // busy; next time
        }
        await sleep(1000);
      }
    })();
    await Promise.all([...Array(sockets).keys()].map(life).concat(sampler));
    await watch.stop();
    let after;
    await until('hub back to its baseline', async () => {
      after = await debugStats(mw.url);
      return after.hub.clients === base.hub.clients && after.hub.subscriptions === base.hub.subscriptions &&
        after.goroutines <= base.goroutines + 4;
    }, 30000, 250).catch((err) => {
      throw new Error(`${err.message}: baseline ${JSON.stringify(base)}, now ${JSON.stringify(after)}`);
    });
    const endRss = await settledRss(pid);
    return {
      seconds: ms / 1000, sockets, connections: opened, failed, errors, peakClients,
      goroutines: { baseline: base.goroutines, after: after.goroutines },
      hub: { baseline: base.hub, after: after.hub },
      rssMiB: { baseline: mib(baseRss), peak: mib(watch.peak), settled: mib(endRss) },
      stderr: mw.stderr(),
    };
  } finally {
    await mw.stop();
  }
}

/** Counts the stdout entries of a server in its NDJSON files and checks their seqs. */
async function diskEntries(dataDir, id) {
  const logDir = join(dataDir, 'logs', id);
  const seqs = [];
  let stdout = 0;
  for (const f of await readdir(logDir)) {
    if (!f.endsWith('.ndjson')) continue;
    const text = await readFile(join(logDir, f), 'utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line);
      seqs.push(e.metadata.seq);
      if (e.metadata.stream === 'stdout') stdout++;
    }
  }
  seqs.sort((a, b) => a - b);
  let gaps = 0;
  let dups = 0;
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] === seqs[i - 1]) dups++;
    else if (seqs[i] !== seqs[i - 1] + 1) gaps++;
  }
  return { stdout, total: seqs.length, first: seqs[0], last: seqs.at(-1), gaps, dups };
}

/**
 * Flood: one child writes `rate` lines/s for `seconds` to `subscribers` sockets (batched, as the
 * UI reads), `stalled` of which stop reading (their TCP socket paused). Every line must reach the
 * disk with contiguous seqs, the monitor's memory stays bounded and the fast subscribers get
 * every line (dropped entries are counted and reported).
 */
export async function flood({ bin, child, dir, rate, seconds, subscribers, stalled }) {
  const lines = rate * seconds;
  const config = {
    servers: [childServer(child, 'flood', ['-lines', String(lines), '-rate', String(rate), '-exit', '0'], { autoStart: false })],
    settings: { historyIntervalMs: -1, logFileMaxBytes: 256 * MiB, logFiles: 20 },
  };
  const mw = await startMcpwatch({ bin, dir, config, port: await freePort() });
  const pid = mw.proc.pid;
  const socks = [];
  try {
    const baseRss = await rss(pid);
    const subs = [];
    for (let k = 0; k < subscribers; k++) {
      const isStalled = k < stalled;
      const { s, ready } = openSocket(mw.url, ['websocket']);
      socks.push(s);
      await ready;
      const sub = { stalled: isStalled, entries: 0, lastSeq: 0, dropped: 0, dropEvents: 0, done: false, tcp: null };
      s.on('process:logs:batch', (ev) => {
        sub.entries += ev.entries.length;
        sub.lastSeq = Math.max(sub.lastSeq, ev.entries.at(-1).metadata.seq);
        if (ev.entries.some((e) => e.metadata.stream === 'system' && /^exited/.test(e.message))) sub.done = true;
      });
      s.on('process:logs', (ev) => {
        sub.entries++;
        sub.lastSeq = Math.max(sub.lastSeq, ev.logData.metadata.seq);
      });
      s.on('process:logs:dropped', (ev) => {
        sub.dropped += ev.count;
        sub.dropEvents++;
      });
      const a = await ack(s, 'subscribe-server-logs', { serverId: 'flood', tail: 0, batch: !isStalled });
      if (!a.ok) throw new Error(`subscribe: ${JSON.stringify(a)}`);
      if (isStalled) {
        // Stop reading: the kernel buffers fill, then the server's writes to this socket block.
        const ws = s.io.engine.transport.ws;
        sub.tcp = ws._socket;
        sub.tcp.pause();
      }
      subs.push(sub);
    }
    const watch = rssWatch(pid);
    const t0 = Date.now();
    await api(mw.url, 'POST', '/servers/flood/start');
    await until('the flood child to exit', async () => {
      const { state } = await api(mw.url, 'GET', '/servers/flood');
      return state.status === 'stopped' && state.lastExit;
    }, seconds * 1000 * 4 + 60000, 250);
    const childSeconds = (Date.now() - t0) / 1000;
    const fast = subs.filter((x) => !x.stalled);
    let caughtUp = true;
    await until('the fast subscribers to get the exit line', () => fast.every((x) => x.done), 60000, 100)
      .catch(() => { caughtUp = false; });
    const lag = (Date.now() - t0) / 1000 - childSeconds;
    await watch.stop();
    // The stalled ones read again: they get what their queue kept and the count of what it lost.
    const stalledOnes = subs.filter((x) => x.stalled);
    for (const x of stalledOnes) x.tcp.resume();
    await until('the stalled subscribers to hear of their loss', () => stalledOnes.every((x) => x.dropped > 0), 30000, 100)
      .catch(() => {});
    const stats = await debugStats(mw.url);
    for (const s of socks) s.close();
    await mw.stop(); // flushes the store
    const disk = await diskEntries(join(dir, 'data'), 'flood');
    return {
      rate, seconds, lines, subscribers, stalled,
      childSeconds: Math.round(childSeconds * 10) / 10,
      achievedRate: Math.round(lines / childSeconds),
      fastCaughtUp: caughtUp,
      fastLagSeconds: Math.round(lag * 10) / 10,
      fast: fast.map((x) => ({ entries: x.entries, dropped: x.dropped })),
      fastLivePercent: Math.round((1000 * fast.reduce((a, x) => a + x.entries, 0)) / (fast.length * lines)) / 10,
      stalledSubs: subs.filter((x) => x.stalled).map((x) => ({ entries: x.entries, dropped: x.dropped, dropEvents: x.dropEvents })),
      hubDropped: stats.hub.dropped,
      disk,
      rssMiB: { baseline: mib(baseRss), peak: mib(watch.peak) },
      stderr: mw.stderr(),
    };
  } finally {
    for (const s of socks) s.close();
    await mw.stop();
  }
}

/**
 * Start/stop loop: `servers` servers (half of them with a grandchild) started and stopped
 * together over REST, round after round, for `ms`. Afterwards no process is left below the
 * monitor, and its fds and goroutines are back to the baseline.
 */
export async function startStop({ bin, child, dir, ms, servers }) {
  const ids = [...Array(servers).keys()].map((k) => `s${k}`);
  const config = {
    servers: ids.map((id, k) =>
      childServer(child, id, k % 2 ? ['-lines', '3'] : ['-grandchild', '-lines', '3'], { autoStart: false })),
    settings: { historyIntervalMs: -1, stopGraceMs: 2000 },
  };
  const mw = await startMcpwatch({ bin, dir, config, port: await freePort() });
  const pid = mw.proc.pid;
  try {
    const statuses = async () => (await api(mw.url, 'GET', '/servers')).servers.map((s) => s.state.status);
    await sleep(300);
    const base = { stats: await debugStats(mw.url) };
    // The monitor's descriptors by kind: log files (one per server may stay open), /proc files of
    // processes (the sampler keeps some open while they live) and the rest.
    const fdsOf = async () => {
      const out = { logFiles: 0, procOfPids: 0, other: 0, list: [] };
      for (const fd of await readdir(`/proc/${pid}/fd`)) {
        const l = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '?');
        if (l.endsWith('.ndjson')) out.logFiles++;
        else if (/^\/proc\/\d+\//.test(l)) {
          out.procOfPids++;
          out.list.push(l);
        } else {
          out.other++;
          out.list.push(l);
        }
      }
      return out;
    };
    base.fds = await fdsOf();
    let rounds = 0;
    let peakProcs = 0;
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await Promise.all(ids.map((id) => api(mw.url, 'POST', `/servers/${id}/start`)));
      await until('all running', async () => (await statuses()).every((s) => s === 'running'), 60000, 100);
      peakProcs = Math.max(peakProcs, (await descendants(pid)).length);
      await Promise.all(ids.map((id) => api(mw.url, 'POST', `/servers/${id}/stop`)));
      await until('all stopped', async () => (await statuses()).every((s) => s === 'stopped'), 60000, 100);
      rounds++;
    }
    let left = [];
    await until('no process left below the monitor', async () => {
      left = await descendants(pid);
      return left.length === 0;
    }, 20000, 100).catch((err) => { throw new Error(`${err.message}: ${left}`); });
    let after;
    await until('fds and goroutines back to the baseline', async () => {
      after = { stats: await debugStats(mw.url), fds: await fdsOf() };
      return after.fds.procOfPids === 0 && after.fds.other <= base.fds.other + 2 && after.fds.logFiles <= servers &&
        after.stats.goroutines <= base.stats.goroutines + 4;
    }, 30000, 250).catch((err) => {
      throw new Error(`${err.message}: baseline ${JSON.stringify(base.fds)} goroutines ${base.stats.goroutines}; ` +
        `now ${JSON.stringify(after?.fds)} goroutines ${after?.stats.goroutines}`);
    });
    return {
      seconds: ms / 1000, servers, rounds, starts: rounds * servers, peakProcesses: peakProcs,
      fds: {
        baseline: base.fds.logFiles + base.fds.procOfPids + base.fds.other,
        after: after.fds.logFiles + after.fds.procOfPids + after.fds.other,
        afterLogFiles: after.fds.logFiles, afterProcOfPids: after.fds.procOfPids,
      },
      goroutines: { baseline: base.stats.goroutines, after: after.stats.goroutines },
      processesLeft: left.length,
      stderr: mw.stderr(),
    };
  } finally {
    await mw.stop();
  }
}

// ---- the checks shared by the short tests and the soak ---------------------------------------

function fail(name, msg, fig) {
  const { stderr, ...rest } = fig;
  throw new Error(`${name}: ${msg}\nfigures: ${JSON.stringify(rest)}\nmcpwatch stderr (tail):\n${(stderr ?? '').slice(-3000)}`);
}

/** Churn: everything connected, nothing left over, memory back near where it was. */
export function checkChurn(fig) {
  if (fig.failed > fig.connections / 100) fail('churn', `${fig.failed} of ${fig.connections + fig.failed} connections failed`, fig);
  if (fig.hub.after.clients !== fig.hub.baseline.clients || fig.hub.after.subscriptions !== fig.hub.baseline.subscriptions) {
    fail('churn', 'hub clients or subscriptions not back to the baseline', fig);
  }
  // RSS settles: Go keeps freed heap for a while, so "settled" is bounded by the peak and by a
  // generous distance from the baseline, not by the baseline itself.
  if (fig.rssMiB.settled > fig.rssMiB.peak + 8 || fig.rssMiB.settled > fig.rssMiB.baseline + 256) {
    fail('churn', 'RSS did not settle', fig);
  }
}

/** Flood: every line on disk in seq order, memory bounded, the fast subscribers kept up. */
export function checkFlood(fig, { rssBoundMiB = 768 } = {}) {
  const d = fig.disk;
  if (d.stdout !== fig.lines) fail('flood', `${d.stdout} of ${fig.lines} lines on disk`, fig);
  if (d.gaps || d.dups || d.first !== 1 || d.last !== d.total) fail('flood', 'seqs on disk are not 1..n without gaps', fig);
  if (fig.rssMiB.peak > rssBoundMiB) fail('flood', `peak RSS ${fig.rssMiB.peak} MiB over ${rssBoundMiB} MiB`, fig);
  if (!fig.fastCaughtUp) fail('flood', 'the fast subscribers did not get the exit line', fig);
  for (const f of fig.fast) {
    if (f.entries + f.dropped < fig.lines) fail('flood', 'a fast subscriber neither got nor was told about some lines', fig);
  }
  for (const s of fig.stalledSubs) {
    if (s.dropped === 0) fail('flood', 'a stalled subscriber lost nothing: it was not stalled', fig);
  }
}

/** Start/stop loop: rounds done, nothing left behind. */
export function checkStartStop(fig) {
  if (fig.rounds < 1) fail('start/stop', 'not one round', fig);
  if (fig.processesLeft !== 0) fail('start/stop', 'processes left', fig);
  if (fig.fds.afterProcOfPids > 0 || fig.fds.after > fig.fds.baseline + fig.servers + 2) {
    fail('start/stop', 'fds leaked (one log file per server may stay open)', fig);
  }
  if (fig.goroutines.after > fig.goroutines.baseline + 4) fail('start/stop', 'goroutines leaked', fig);
}

// make bench: MCP Watch and the original monitoring stack (socket.io 4 + pidusage, the read-only
// ../shared/bench/reference-node, copied to a temporary folder and `npm ci`-ed there) measured in
// the same run, on the same load children (testchild) and the same stock socket.io-client
// clients, alternating the two stacks round by round (ABBA order). Every figure is the median of
// --rounds rounds. Writes bench/results/<date>.json and <date>.md (the table the README quotes).
//
//   node bench/run.mjs [--rounds 3] [--only sampler,latency,ingest,fanout,footprint,ui] [--quick]
//
// Env (make bench sets them): MCPWATCH_BIN (headless binary), MCPWATCH_TESTCHILD, SAMPLERBENCH
// (bench/samplerbench built), CHROMIUM_PATH, REF_SRC (default ../shared/bench/reference-node).
// Everything listens on 127.0.0.1 only; every load is bounded in count and time.
import { execFileSync, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'sampler,latency,ingest,fanout,footprint,ui' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(HERE, 'results') },
    report: { type: 'string' }, // re-render the Markdown (and targets) of a results JSON
  },
});
const ROUNDS = Math.max(1, Number(opt.rounds));
const ONLY = new Set(opt.only.split(','));
const QUICK = opt.quick;
const BIN = process.env.MCPWATCH_BIN || path.join(ROOT, 'build/bin/mcpwatch-headless');
const TESTCHILD = process.env.MCPWATCH_TESTCHILD || path.join(ROOT, 'build/bin/testchild');
const SAMPLERBENCH = process.env.SAMPLERBENCH || path.join(ROOT, 'build/bin/samplerbench');
const REF_SRC = path.resolve(ROOT, process.env.REF_SRC || '../shared/bench/reference-node');
const TOKEN = 'bench-' + randomBytes(12).toString('hex');
const HZ = 100; // USER_HZ of /proc/<pid>/stat
const PAGE = 4096;

const T = {
  latencyWarmMs: QUICK ? 1000 : 2000,
  latencyWindowMs: QUICK ? 4000 : 8000,
  fanoutWarmMs: QUICK ? 1000 : 1500,
  fanoutWindowMs: QUICK ? 3000 : 4000,
  graceMs: 1500,
  footprintSettleMs: QUICK ? 3000 : 6000,
  footprintWindowMs: QUICK ? 8000 : 20000,
  ingestLines: QUICK ? 100000 : 300000,
};

const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const median = (xs) => {
  const v = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const r2 = (x, d = 2) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

// ---- processes ------------------------------------------------------------------------------

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** All processes: pid → { ppid, comm, cpuTicks, rssPages }. */
function procTable() {
  const out = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let s;
    try {
      s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' '); // f[0] is field 3
    out.set(Number(d), { ppid: Number(f[1]), comm: s.slice(s.indexOf('(') + 1, close), cpuTicks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) });
  }
  return out;
}

/** Private (anonymous) resident memory of pid in bytes: what a process adds beside the pages it
 * shares with others (a shim maps the monitor's own binary). */
function privateRss(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^RssAnon:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The server process and its descendants except the load children (comm testchild). rss is the
 * server's RSS plus its helpers' private memory: a shim is the monitor's binary re-executed, so
 * its file-backed pages are the very pages the monitor maps, and adding its whole RSS would count
 * them twice. helpersRss is their plain RSS, reported beside it.
 */
function serverTree(pid) {
  const tab = procTable();
  const kids = new Map();
  for (const [p, e] of tab) {
    if (!kids.has(e.ppid)) kids.set(e.ppid, []);
    kids.get(e.ppid).push(p);
  }
  const main = tab.get(pid);
  const res = { cpuTicks: 0, mainCpuTicks: main ? main.cpuTicks : 0, rss: 0, mainRss: main ? main.rssPages * PAGE : 0, helpers: 0, helpersRss: 0, helpersPrivate: 0 };
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    const e = tab.get(p);
    if (!e || e.comm === 'testchild') continue;
    res.cpuTicks += e.cpuTicks;
    if (p === pid) {
      res.rss += e.rssPages * PAGE;
    } else {
      const own = privateRss(p);
      res.rss += own;
      res.helpers++;
      res.helpersRss += e.rssPages * PAGE;
      res.helpersPrivate += own;
    }
    stack.push(...(kids.get(p) || []));
  }
  return res;
}

/** Proportional set size of pid (shared pages divided among their users), bytes. */
function pss(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function waitForLine(proc, re, what, ms = 30000) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready in ${ms} ms\n${out}\n${err}`)), ms);
    const onOut = (b) => {
      out += b;
      const m = out.match(re);
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', onOut);
        proc.stdout.resume();
        resolve(m);
      }
    };
    proc.stdout.on('data', onOut);
    proc.stderr.on('data', (b) => (err = (err + b).slice(-4000)));
    proc.once('exit', (c, s) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${c ?? s}) before it was ready\n${out}\n${err}`));
    });
  });
}

async function stopProc(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
  await exited;
  clearTimeout(t);
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpwatch-bench-'));
let refDir;
const loadChildren = new Set(); // testchild processes started directly (sampler section)

/** A load child definition, the same for both stacks. */
const childDef = (id, args) => ({ id, command: TESTCHILD, args });

/**
 * Starts one stack ('mcpwatch' or 'reference') supervising servers; resolves with
 * { kind, pid, url, stop() }.
 */
async function startStack(kind, servers, { metricsMs = 5000, settings = {} } = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(tmpRoot, kind + '-'));
  let proc;
  if (kind === 'mcpwatch') {
    const cfg = {
      servers: servers.map((s) => ({ ...s, name: s.id, transport: 'stdio', autoStart: true, restart: { policy: 'never', maxRetries: 0, backoffMs: 1000 } })),
      settings,
    };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    proc = spawn(BIN, ['--headless', '--config', path.join(dir, 'config.json'), '--data-dir', path.join(dir, 'data'), '--port', String(port)], {
      env: { ...process.env, MCPWATCH_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLine(proc, /mcpwatch: listening on/, 'mcpwatch');
  } else {
    fs.writeFileSync(path.join(dir, 'servers.json'), JSON.stringify({ servers }));
    proc = spawn(process.execPath, [path.join(refDir, 'server.js'), path.join(dir, 'servers.json')], {
      cwd: refDir,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', METRICS_INTERVAL_MS: String(metricsMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLine(proc, /reference listening/, 'reference');
  }
  return {
    kind,
    pid: proc.pid,
    dir,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await stopProc(proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function api(stack, p, init = {}) {
  const r = await fetch(`${stack.url}/api/v1/${p}`, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } });
  if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

// ---- load clients ---------------------------------------------------------------------------

const workers = [];
let reqId = 0;
function startWorker() {
  const w = fork(path.join(HERE, 'client.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  const ready = new Promise((r) => w.once('message', r));
  w.on('message', (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    m.ok ? p.resolve(m) : p.reject(new Error(m.error));
  });
  const call = (msg, ms = 120000) =>
    new Promise((resolve, reject) => {
      const id = ++reqId;
      const t = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`client ${msg.cmd}: no answer in ${ms} ms`));
      }, ms);
      pending.set(id, {
        resolve: (x) => (clearTimeout(t), resolve(x)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
      w.send({ ...msg, id });
    });
  return { w, ready, call };
}
async function resetClients() {
  for (const w of workers.splice(0)) w.w.kill('SIGKILL');
}
async function clients(n) {
  while (workers.length < n) workers.push(startWorker());
  await Promise.all(workers.map((w) => w.ready));
  return workers.slice(0, n);
}

/**
 * Connects `sockets` sockets over the client workers to serverId's logs, warms up, measures for
 * windowMs while sampling the server's CPU and RSS, waits a grace period for late lines, and
 * returns the counts.
 */
async function measureLogs(stack, { sockets, batch, warmMs, windowMs, latencies = false }) {
  const nw = Math.min(4, Math.max(1, Math.ceil(sockets / 50)));
  const ws = await clients(nw);
  const share = ws.map((_, i) => Math.floor(sockets / nw) + (i < sockets % nw ? 1 : 0));
  await Promise.all(ws.map((w, i) => w.call({ cmd: 'connect', url: stack.url, sockets: share[i], serverId: 'load', batch })));
  await sleep(warmMs);
  const t0 = nowUs() + 200_000;
  const t1 = t0 + windowMs * 1000;
  await Promise.all(ws.map((w) => w.call({ cmd: 'window', t0, t1, latencies })));
  await sleep((t0 - nowUs()) / 1000);
  const a = serverTree(stack.pid);
  let peakRss = 0;
  let peakMainRss = 0;
  while (nowUs() < t1) {
    await sleep(Math.min(500, Math.max(1, (t1 - nowUs()) / 1000)));
    const s = serverTree(stack.pid);
    peakRss = Math.max(peakRss, s.rss);
    peakMainRss = Math.max(peakMainRss, s.mainRss);
  }
  const b = serverTree(stack.pid);
  const mainPss = pss(stack.pid);
  await sleep(T.graceMs);
  const res = await Promise.all(ws.map((w) => w.call({ cmd: 'collect', latencies })));
  await Promise.all(ws.map((w) => w.call({ cmd: 'close' })));
  const per = res.flatMap((r) => r.perSocket);
  const lo = Math.min(...per.map((p) => p.minLine ?? Infinity));
  const hi = Math.max(...per.map((p) => p.maxLine ?? -Infinity));
  const expectedPerSocket = Number.isFinite(lo) && Number.isFinite(hi) ? hi - lo + 1 : 0;
  const received = per.reduce((x, p) => x + p.received, 0);
  const arrived = per.reduce((x, p) => x + p.arrivedInWindow, 0);
  const expected = expectedPerSocket * per.length;
  const cpuSec = (b.cpuTicks - a.cpuTicks) / HZ;
  const winSec = windowMs / 1000;
  let lat = null;
  if (latencies) {
    const all = res.flatMap((r) => r.latencies).sort((x, y) => x - y);
    lat = { p50: all[Math.floor(all.length * 0.5)], p99: all[Math.floor(all.length * 0.99)], max: all[all.length - 1], n: all.length };
  } else {
    lat = { p50: median(res.map((r) => r.p50)), p99: Math.max(...res.map((r) => r.p99 ?? 0)) };
  }
  return {
    sockets: per.length,
    linesWritten: expectedPerSocket,
    linesPerSecond: expectedPerSocket / winSec,
    delivered: received,
    deliveredPerSecond: arrived / winSec,
    lost: expected - received,
    lossPct: expected ? (100 * (expected - received)) / expected : null,
    droppedReported: per.reduce((x, p) => x + p.dropped, 0),
    serverCpuPct: (100 * cpuSec) / winSec,
    serverCpuUsPerEntry: arrived ? (cpuSec * 1e6) / arrived : null,
    serverRssMiB: peakRss / 2 ** 20,
    serverMainRssMiB: peakMainRss / 2 ** 20,
    serverMainPssMiB: mainPss == null ? null : mainPss / 2 ** 20,
    helperProcesses: b.helpers,
    latencyMs: lat,
  };
}

// ---- sections -------------------------------------------------------------------------------

async function sectionSampler() {
  const sizes = QUICK ? [1, 10, 100] : [1, 10, 100, 500];
  const max = Math.max(...sizes);
  log(`sampler: starting ${max} idle load children`);
  const pids = [];
  for (let i = 0; i < max; i++) {
    const c = spawn(TESTCHILD, ['-sleep', '1h'], { stdio: 'ignore' });
    loadChildren.add(c);
    pids.push(c.pid);
  }
  await sleep(1000 + max * 4);
  const rows = [];
  for (const n of sizes) {
    const ids = pids.slice(0, n).map(String);
    const itersGo = Math.ceil((QUICK ? 30000 : 100000) / n);
    const itersNode = Math.ceil((QUICK ? 10000 : 40000) / n);
    const go = [];
    const node = [];
    for (let r = 0; r < ROUNDS; r++) {
      const runGo = () => go.push(JSON.parse(execFileSync(SAMPLERBENCH, ['-iters', String(itersGo), ...ids], { encoding: 'utf8' })));
      const runNode = () => node.push(JSON.parse(execFileSync(process.execPath, [path.join(HERE, 'pidusage-bench.cjs'), String(itersNode), ...ids], { encoding: 'utf8' })));
      if (r % 2) (runNode(), runGo());
      else (runGo(), runNode());
    }
    const row = {
      procs: n,
      treeProcesses: go[0].treeProcesses,
      mcpwatch: { cpuUsPerProc: median(go.map((x) => x.cpuNsPerProc / 1000)), wallUsPerProc: median(go.map((x) => x.wallNsPerProc / 1000)), allocsPerProc: median(go.map((x) => x.allocsPerProc)), bytesPerProc: median(go.map((x) => x.bytesPerProc)) },
      reference: { cpuUsPerProc: median(node.map((x) => x.cpuNsPerProc / 1000)), wallUsPerProc: median(node.map((x) => x.wallNsPerProc / 1000)) },
      rounds: { mcpwatch: go, reference: node },
    };
    row.ratio = row.mcpwatch.cpuUsPerProc / row.reference.cpuUsPerProc;
    log(`sampler ${n}: mcpwatch ${r2(row.mcpwatch.cpuUsPerProc)} µs/proc (${r2(row.mcpwatch.allocsPerProc)} allocs), pidusage ${r2(row.reference.cpuUsPerProc)} µs/proc, ratio ${r2(row.ratio)}`);
    rows.push(row);
  }
  for (const c of loadChildren) c.kill('SIGKILL');
  loadChildren.clear();
  return rows;
}

/** Runs fn(kind, round) for every round, both stacks, in ABBA order. */
async function alternate(fn) {
  const out = { mcpwatch: [], reference: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? ['reference', 'mcpwatch'] : ['mcpwatch', 'reference'];
    for (const kind of order) out[kind].push(await fn(kind, r));
  }
  return out;
}

async function sectionLatency() {
  const sockets = 10;
  const rate = 1000;
  const rounds = await alternate(async (kind) => {
    const st = await startStack(kind, [childDef('load', ['-lines', '-1', '-rate', String(rate), '-stamp'])]);
    try {
      const m = await measureLogs(st, { sockets, batch: false, warmMs: T.latencyWarmMs, windowMs: T.latencyWindowMs, latencies: true });
      log(`latency ${kind}: p50 ${r2(m.latencyMs.p50)} ms p99 ${r2(m.latencyMs.p99)} ms, ${m.lost} lost of ${m.linesWritten * m.sockets}`);
      return m;
    } finally {
      await st.stop();
    }
  });
  const sum = (k) => ({
    p50: median(rounds[k].map((m) => m.latencyMs.p50)),
    p99: median(rounds[k].map((m) => m.latencyMs.p99)),
    lost: median(rounds[k].map((m) => m.lost)),
    linesPerSecond: median(rounds[k].map((m) => m.linesPerSecond)),
  });
  return { sockets, rate, mcpwatch: sum('mcpwatch'), reference: sum('reference'), rounds };
}

/** Lines per second from start to the last line stored, with every line checked by its number. */
async function sectionIngest() {
  const N = T.ingestLines;
  const runs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const def = { ...childDef('ingest', ['-lines', String(N), '-exit', '0']) };
    const st = await startStack('mcpwatch', [], { settings: { logFileMaxBytes: 1 << 30, historyIntervalMs: -1 } });
    try {
      await api(st, 'servers', { method: 'POST', body: JSON.stringify({ ...def, name: 'ingest', transport: 'stdio', restart: { policy: 'never', maxRetries: 0, backoffMs: 1000 } }) });
      const cpu0 = serverTree(st.pid).cpuTicks;
      const t0 = performance.now();
      await api(st, 'servers/ingest/start', { method: 'POST' });
      let t1;
      for (;;) {
        const last = (await api(st, 'servers/ingest/logs?limit=1')).entries.at(-1);
        if (last && last.metadata.stream === 'system' && /exit/.test(last.message)) {
          t1 = performance.now();
          break;
        }
        if (performance.now() - t0 > 120000) throw new Error('ingest: no exit line within 120 s');
        await sleep(10);
      }
      const cpu = (serverTree(st.pid).cpuTicks - cpu0) / HZ;
      // zero loss: every line 1..N on disk, in order, with strictly increasing seq
      const files = fs.readdirSync(path.join(st.dir, 'data', 'logs', 'ingest')).sort();
      let next = 1;
      let lastSeq = 0;
      let bad = 0;
      const badExamples = [];
      const ordered = files.filter((f) => f.endsWith('.ndjson'));
      // current.ndjson is the newest; rotated ones (if any) are older: read oldest first
      ordered.sort((a, b) => (a === 'current.ndjson') - (b === 'current.ndjson') || b.localeCompare(a));
      for (const f of ordered) {
        for (const line of fs.readFileSync(path.join(st.dir, 'data', 'logs', 'ingest', f), 'utf8').split('\n')) {
          if (!line) continue;
          const e = JSON.parse(line);
          const seq = e.metadata?.seq ?? e.seq;
          if (!(seq > lastSeq)) (bad++, badExamples.length < 3 && badExamples.push(line.slice(0, 300)));
          lastSeq = seq;
          const stream = e.metadata?.stream ?? e.stream;
          if (stream !== 'stdout') continue; // system lines, the monitor's MCP probe
          const m = /line (\d+)$/.exec(e.message ?? e.msg ?? '');
          if (!m || Number(m[1]) !== next) (bad++, badExamples.length < 3 && badExamples.push(line.slice(0, 300)));
          else next++;
        }
      }
      const secs = (t1 - t0) / 1000;
      const run = { lines: N, seconds: secs, linesPerSecond: N / secs, stored: next - 1, lost: N - (next - 1), outOfOrder: bad, badExamples, serverCpuSec: cpu, cpuUsPerLine: (cpu * 1e6) / N, files: ordered.length };
      log(`ingest: ${Math.round(run.linesPerSecond)} lines/s, ${run.stored}/${N} on disk, ${bad} out of order, ${r2(run.cpuUsPerLine)} µs CPU/line`);
      runs.push(run);
    } finally {
      await st.stop();
    }
  }
  return { lines: N, linesPerSecond: median(runs.map((r) => r.linesPerSecond)), lost: Math.max(...runs.map((r) => r.lost)), outOfOrder: Math.max(...runs.map((r) => r.outOfOrder)), cpuUsPerLine: median(runs.map((r) => r.cpuUsPerLine)), rounds: runs };
}

async function sectionFanout() {
  const cells = [];
  const socketsList = QUICK ? [50] : [50, 200];
  for (const sockets of socketsList) {
    for (const rate of [100, 1000]) {
      const out = { sockets, rate, line: [], batch: [], reference: [] };
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 ? ['reference', 'batch', 'line'] : ['line', 'batch', 'reference'];
        for (const mode of order) {
          const kind = mode === 'reference' ? 'reference' : 'mcpwatch';
          const st = await startStack(kind, [childDef('load', ['-lines', '-1', '-rate', String(rate), '-stamp'])]);
          try {
            const m = await measureLogs(st, { sockets, batch: mode === 'batch', warmMs: T.fanoutWarmMs, windowMs: T.fanoutWindowMs });
            log(`fanout ${sockets}×${rate}/s ${mode}: ${Math.round(m.deliveredPerSecond)}/s delivered, loss ${r2(m.lossPct)} %, CPU ${r2(m.serverCpuPct, 1)} % (${r2(m.serverCpuUsPerEntry)} µs/entry), RSS ${r2(m.serverRssMiB, 1)} MiB`);
            out[mode].push(m);
          } catch (e) {
            log(`fanout ${sockets}×${rate}/s ${mode} FAILED: ${e.message}`);
            out[mode].push({ error: String(e.message).split('\n')[0] });
          } finally {
            await st.stop();
            // a client that fell behind may still be chewing on a backlog: fresh ones per cell
            await resetClients();
          }
        }
      }
      const sum = (k) => ({
        failedRounds: out[k].filter((m) => m.error).length,
        deliveredPerSecond: median(out[k].map((m) => m.deliveredPerSecond)),
        lossPct: median(out[k].map((m) => m.lossPct)),
        maxLossPct: Math.max(...out[k].filter((m) => !m.error).map((m) => m.lossPct)),
        cpuPct: median(out[k].map((m) => m.serverCpuPct)),
        cpuUsPerEntry: median(out[k].map((m) => m.serverCpuUsPerEntry)),
        rssMiB: median(out[k].map((m) => m.serverRssMiB)),
        mainRssMiB: median(out[k].map((m) => m.serverMainRssMiB)),
        p99Ms: median(out[k].map((m) => m.latencyMs?.p99)),
      });
      cells.push({ sockets, rate, line: sum('line'), batch: sum('batch'), reference: sum('reference'), rounds: out });
    }
  }
  return cells;
}

async function sectionFootprint() {
  const servers = Array.from({ length: 10 }, (_, i) => childDef(`idle-${i}`, ['-sleep', '1h']));
  const rounds = await alternate(async (kind) => {
    const st = await startStack(kind, servers, { metricsMs: 5000 });
    const [w] = await clients(1);
    try {
      // one watcher subscribed to every server's metrics at 5 s
      await w.call({ cmd: 'close' });
      const sock = await watchMetrics(st.url, servers.map((s) => s.id));
      try {
        await sleep(T.footprintSettleMs);
        const a = serverTree(st.pid);
        const t0 = performance.now();
        await sleep(T.footprintWindowMs);
        const b = serverTree(st.pid);
        const secs = (performance.now() - t0) / 1000;
        const m = {
          cpuPct: (100 * (b.cpuTicks - a.cpuTicks)) / HZ / secs,
          mainCpuPct: (100 * (b.mainCpuTicks - a.mainCpuTicks)) / HZ / secs,
          rssMiB: b.mainRss / 2 ** 20,
          pssMiB: (pss(st.pid) ?? 0) / 2 ** 20,
          totalMiB: b.rss / 2 ** 20,
          helpers: b.helpers,
          helpersRssMiB: b.helpersRss / 2 ** 20,
          helpersPrivateMiB: b.helpersPrivate / 2 ** 20,
          metricsEvents: sock.count(),
        };
        log(`footprint ${kind}: CPU ${r2(m.cpuPct, 3)} % (monitor process alone ${r2(m.mainCpuPct, 3)} %), RSS ${r2(m.rssMiB, 1)} MiB (PSS ${r2(m.pssMiB, 1)}), ${m.helpers} helper processes ${r2(m.helpersRssMiB, 1)} MiB, ${m.metricsEvents} process:info`);
        return m;
      } finally {
        sock.close();
      }
    } finally {
      await st.stop();
    }
  });
  const sum = (k) => ({
    cpuPct: median(rounds[k].map((m) => m.cpuPct)),
    mainCpuPct: median(rounds[k].map((m) => m.mainCpuPct)),
    rssMiB: median(rounds[k].map((m) => m.rssMiB)),
    pssMiB: median(rounds[k].map((m) => m.pssMiB)),
    totalMiB: median(rounds[k].map((m) => m.totalMiB)),
    helpersRssMiB: median(rounds[k].map((m) => m.helpersRssMiB)),
    helpersPrivateMiB: median(rounds[k].map((m) => m.helpersPrivateMiB)),
  });
  const binary = fs.statSync(BIN).size;
  let refNodeModules = null;
  try {
    refNodeModules = Number(execFileSync('du', ['-sb', path.join(refDir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
  } catch {}
  return { servers: 10, intervalMs: 5000, mcpwatch: { ...sum('mcpwatch'), binaryBytes: binary }, reference: { ...sum('reference'), nodeModulesBytes: refNodeModules, nodeBinaryBytes: fs.statSync(process.execPath).size }, rounds };
}

/** One socket.io-client socket subscribed to the metrics of ids at 5 s; counts process:info. */
async function watchMetrics(url, ids) {
  const { io } = await import(path.join(HERE, 'node_modules/socket.io-client/build/esm-debug/index.js')).catch(() => import('socket.io-client'));
  const s = io(`${url}/monitoring`, { transports: ['websocket', 'polling'], reconnection: false, forceNew: true });
  let n = 0;
  s.on('process:info', () => n++);
  await new Promise((res, rej) => {
    s.once('connect', res);
    s.once('connect_error', rej);
  });
  for (const id of ids) await s.timeout(10000).emitWithAck('subscribe-server-metrics', { serverId: id, interval: 5000 });
  return { count: () => n, close: () => s.close() };
}

async function sectionUI() {
  const runs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const out = path.join(tmpRoot, `ui-${r}.json`);
    try {
      execFileSync(process.execPath, ['e2e/perf.mjs', '--json', out, '--seconds', QUICK ? '5' : '10'], {
        cwd: path.join(ROOT, 'frontend'),
        env: { ...process.env, MCPWATCH_BIN: BIN, MCPWATCH_TESTCHILD: TESTCHILD, CHROMIUM_PATH: process.env.CHROMIUM_PATH || '/usr/bin/chromium' },
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: 300000,
      });
    } catch (e) {
      log(`ui: perf.mjs exited ${e.status}`);
    }
    const j = JSON.parse(fs.readFileSync(out, 'utf8'));
    runs.push(j);
  }
  const ok = runs.filter((j) => j.burst && j.steady);
  return {
    lines: runs[0]?.lines,
    rate: runs[0]?.rate,
    renderMs: median(ok.map((j) => j.burst.allRenderedMs)),
    burstKept: median(ok.map((j) => j.burst.kept)),
    burstDropped: ok.map((j) => j.burst.dropped).filter(Boolean),
    burstLongTaskMaxMs: median(ok.map((j) => j.burst.longTaskMaxMs)),
    steadyLongTaskMaxMs: median(ok.map((j) => j.steady.longTaskMaxMs)),
    steadyLongTasks: median(ok.map((j) => j.steady.longTasks)),
    steadyLinesPerSecond: median(ok.map((j) => j.steady.linesPerSecond)),
    steadyFps: median(ok.map((j) => j.steady.fps)),
    errors: runs.filter((j) => j.error).map((j) => j.error),
    rounds: runs,
  };
}

// ---- report ---------------------------------------------------------------------------------

function machine() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']);
  let debian = null;
  try {
    debian = fs.readFileSync('/etc/debian_version', 'utf8').trim();
  } catch {}
  return {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    debian,
    node: process.version,
    go: sh('go', ['env', 'GOVERSION']),
    commit: (sh('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown') + (dirty ? '-dirty' : ''),
  };
}

const f = (x, d = 1) => (x == null ? '–' : Number(x).toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: 0 }));
const ratio = (a, b) => (a == null || b == null || b === 0 ? '–' : `${f(a / b, 2)}×`);

function targets(res) {
  const t = [];
  const add = (name, met, detail) => t.push({ name, met, detail });
  if (res.sampler)
    for (const s of res.sampler) add(`sampler ≤ ½ pidusage (${s.procs} procs)`, s.mcpwatch.cpuUsPerProc <= s.reference.cpuUsPerProc / 2, `${f(s.mcpwatch.cpuUsPerProc, 2)} vs ${f(s.reference.cpuUsPerProc, 2)} µs`);
  if (res.latency) add('log latency p99 ≤ reference (10 sockets × 1 000/s)', res.latency.mcpwatch.p99 <= res.latency.reference.p99, `${f(res.latency.mcpwatch.p99, 2)} vs ${f(res.latency.reference.p99, 2)} ms`);
  if (res.ingest) add('ingest ≥ 100 000 lines/s with persistence, zero loss', res.ingest.linesPerSecond >= 100000 && res.ingest.lost === 0, `${f(res.ingest.linesPerSecond, 0)} lines/s, ${res.ingest.lost} lost`);
  if (res.fanout)
    for (const c of res.fanout) {
      const ref = c.reference;
      if (ref.deliveredPerSecond == null) {
        add(`fan-out ${c.sockets}×${c.rate}/s: side by side`, false, `the reference failed every round (${ref.failedRounds} of ${c.rounds.reference.length}: ${(c.rounds.reference.find((m) => m.error)?.error ?? '?').split('\n')[0]} while connecting 200 sockets); MCP Watch per-line loss ${f(c.line.maxLossPct, 2)} %, batched ${f(c.batch.maxLossPct, 2)} %`);
        continue;
      }
      add(`fan-out ${c.sockets}×${c.rate}/s: zero loss`, c.line.maxLossPct === 0 && c.batch.maxLossPct === 0, `per-line ${f(c.line.maxLossPct, 2)} %, batched ${f(c.batch.maxLossPct, 2)} % (reference ${f(ref.maxLossPct, 2)} %)`);
      add(`fan-out ${c.sockets}×${c.rate}/s: CPU/entry per-line ≤ reference`, c.line.cpuUsPerEntry <= ref.cpuUsPerEntry, `${f(c.line.cpuUsPerEntry, 2)} vs ${f(ref.cpuUsPerEntry, 2)} µs`);
      add(`fan-out ${c.sockets}×${c.rate}/s: CPU/entry batched ≤ ⅕ reference`, c.batch.cpuUsPerEntry <= ref.cpuUsPerEntry / 5, `${f(c.batch.cpuUsPerEntry, 2)} vs ${f(ref.cpuUsPerEntry / 5, 2)} µs`);
      add(`fan-out ${c.sockets}×${c.rate}/s: RSS ≤ ⅓ reference`, Math.max(c.line.rssMiB, c.batch.rssMiB) <= ref.rssMiB / 3, `${f(Math.max(c.line.rssMiB, c.batch.rssMiB))} vs ${f(ref.rssMiB)} MiB`);
    }
  if (res.footprint) {
    const fp = res.footprint.mcpwatch;
    const total = fp.totalMiB ?? fp.rssMiB; // results written before helpers were counted
    add('headless idle RSS ≤ 40 MB (10 servers)', total * 2 ** 20 <= 40e6, `${f(total)} MiB: the monitor ${f(fp.rssMiB)} + its 10 shims' private memory ${f(fp.helpersPrivateMiB)}`);
    add('headless idle CPU ≤ 0.5 % of a core (10 servers, watched at 5 s)', res.footprint.mcpwatch.cpuPct <= 0.5, `${f(res.footprint.mcpwatch.cpuPct, 3)} % with its 10 shims; the monitor process alone ${f(res.footprint.mcpwatch.mainCpuPct, 3)} %`);
  }
  if (res.ui) {
    add('UI: 50 000 lines render ≤ 500 ms', res.ui.renderMs != null && res.ui.renderMs <= 500 && !res.ui.burstDropped.length, `${f(res.ui.renderMs, 0)} ms, ${f(res.ui.burstKept, 0)} of ${f(res.ui.lines, 0)} lines reached the view`);
    add('UI: no long task > 50 ms at 1 000 lines/s', res.ui.steadyLongTaskMaxMs != null && res.ui.steadyLongTaskMaxMs <= 50, `max ${f(res.ui.steadyLongTaskMaxMs, 0)} ms`);
  }
  return t;
}

function markdown(res) {
  const m = res.machine;
  const L = [];
  L.push(`Measured ${res.date} on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}${m.debian ? `, Debian ${m.debian}` : ''}; ${m.go}, Node ${m.node}; commit \`${m.commit}\`. ` + `Medians of ${res.rounds} rounds, the two stacks alternated (ABBA) in one run of \`make bench\`; reference = socket.io 4.8.1 + pidusage 4.1.0 on Node (\`../shared/bench/reference-node\`).`);
  L.push('');
  L.push('| Figure | MCP Watch | Reference | Ratio |');
  L.push('|---|---:|---:|---:|');
  if (res.sampler)
    for (const s of res.sampler)
      L.push(`| Sampler, ${s.procs} process${s.procs > 1 ? 'es' : ''}: CPU µs per process per sample (MCP Watch: tree + fd count; allocs/process) | ${f(s.mcpwatch.cpuUsPerProc, 2)} (${f(s.mcpwatch.allocsPerProc, 2)} allocs) | ${f(s.reference.cpuUsPerProc, 2)} | ${ratio(s.mcpwatch.cpuUsPerProc, s.reference.cpuUsPerProc)} |`);
  if (res.latency) {
    const l = res.latency;
    L.push(`| Log latency, child write → socket.io-client, ${l.sockets} sockets × ${f(l.rate, 0)} lines/s: p50 ms | ${f(l.mcpwatch.p50, 2)} | ${f(l.reference.p50, 2)} | ${ratio(l.mcpwatch.p50, l.reference.p50)} |`);
    L.push(`| … p99 ms (lines lost: ${f(l.mcpwatch.lost, 0)} / ${f(l.reference.lost, 0)}) | ${f(l.mcpwatch.p99, 2)} | ${f(l.reference.p99, 2)} | ${ratio(l.mcpwatch.p99, l.reference.p99)} |`);
  }
  if (res.ingest) L.push(`| Ingest as fast as the child writes (parse, level, ring, NDJSON on disk), lines/s; lost of ${f(res.ingest.lines, 0)} (checked by line number and seq) | ${f(res.ingest.linesPerSecond, 0)}; ${res.ingest.lost} lost; ${f(res.ingest.cpuUsPerLine, 2)} µs CPU/line | no persistence | – |`);
  if (res.fanout)
    for (const c of res.fanout) {
      const R = c.reference;
      for (const [mode, x] of [['per-line', c.line], ['batched', c.batch]]) {
        L.push(`| Fan-out ${c.sockets} sockets × ${f(c.rate, 0)} lines/s, ${mode}: delivered/s · loss % | ${f(x.deliveredPerSecond, 0)} · ${f(x.lossPct, 2)} | ${f(R.deliveredPerSecond, 0)} · ${f(R.lossPct, 2)} | – |`);
        L.push(`| … server CPU % of a core · µs per delivered entry | ${f(x.cpuPct, 1)} · ${f(x.cpuUsPerEntry, 2)} | ${f(R.cpuPct, 1)} · ${f(R.cpuUsPerEntry, 2)} | ${ratio(x.cpuUsPerEntry, R.cpuUsPerEntry)} |`);
        L.push(`| … server memory MiB (peak RSS, helpers by their private memory) · p99 latency ms | ${f(x.rssMiB)} · ${f(x.p99Ms, 1)} | ${f(R.rssMiB)} · ${f(R.p99Ms, 1)} | ${ratio(x.rssMiB, R.rssMiB)} |`);
      }
    }
  if (res.footprint) {
    const p = res.footprint;
    L.push(`| Idle, 10 servers watched at 5 s: CPU % of a core, helpers included | ${f(p.mcpwatch.cpuPct, 3)} | ${f(p.reference.cpuPct, 3)} | ${ratio(p.mcpwatch.cpuPct, p.reference.cpuPct)} |`);
    L.push(`| … CPU % of a core, the monitor process alone | ${f(p.mcpwatch.mainCpuPct, 3)} | ${f(p.reference.mainCpuPct, 3)} | ${ratio(p.mcpwatch.mainCpuPct, p.reference.mainCpuPct)} |`);
    L.push(`| … RSS MiB (PSS) of the monitor process | ${f(p.mcpwatch.rssMiB)} (${f(p.mcpwatch.pssMiB)}) | ${f(p.reference.rssMiB)} (${f(p.reference.pssMiB)}) | ${ratio(p.mcpwatch.rssMiB, p.reference.rssMiB)} |`);
    L.push(`| … helper processes (MCP Watch: one shim per child): private memory MiB (plain RSS, mostly the monitor's own binary pages) | ${f(p.mcpwatch.helpersPrivateMiB)} (${f(p.mcpwatch.helpersRssMiB)}) | ${f(p.reference.helpersPrivateMiB)} (${f(p.reference.helpersRssMiB)}) | – |`);
    L.push(`| … memory MiB, the monitor's RSS + its helpers' private memory | ${f(p.mcpwatch.totalMiB)} | ${f(p.reference.totalMiB)} | ${ratio(p.mcpwatch.totalMiB, p.reference.totalMiB)} |`);
    L.push(`| Size on disk, MiB | ${f(p.mcpwatch.binaryBytes / 2 ** 20)} (one static binary, UI included) | ${f(p.reference.nodeModulesBytes / 2 ** 20)} node_modules + ${f(p.reference.nodeBinaryBytes / 2 ** 20)} node | – |`);
  }
  if (res.ui) {
    const u = res.ui;
    L.push(`| UI (Debian Chromium): burst of ${f(u.lines, 0)} lines until the last is on screen, ms (lines the view received and kept) | ${f(u.renderMs, 0)} (${f(u.burstKept, 0)} kept${u.burstDropped.length ? '; the rest dropped for this slow socket, reported in the view' : ''}) | – | – |`);
    L.push(`| UI at ${f(u.rate, 0)} lines/s: longest task ms · long tasks · lines/s shown · fps | ${f(u.steadyLongTaskMaxMs, 0)} · ${f(u.steadyLongTasks, 0)} · ${f(u.steadyLinesPerSecond, 0)} · ${f(u.steadyFps, 0)} | – | – |`);
  }
  L.push('');
  L.push('| Target | Met | Measured |');
  L.push('|---|:---:|---|');
  for (const t of res.targets) L.push(`| ${t.name} | ${t.met ? 'yes' : '**no**'} | ${t.detail} |`);
  return L.join('\n') + '\n';
}

// ---- main -----------------------------------------------------------------------------------

async function prepareReference() {
  refDir = fs.mkdtempSync(path.join(tmpRoot, 'reference-'));
  fs.cpSync(REF_SRC, refDir, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  log(`reference: npm ci in ${refDir}`);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: refDir, stdio: 'inherit' });
}

async function main() {
  if (opt.report) {
    const res = JSON.parse(fs.readFileSync(opt.report, 'utf8'));
    res.targets = targets(res);
    fs.writeFileSync(opt.report, JSON.stringify(res, null, 1) + '\n');
    fs.writeFileSync(opt.report.replace(/\.json$/, '.md'), markdown(res));
    console.log(markdown(res));
    return;
  }
  const started = Date.now();
  for (const [what, p] of [['MCPWATCH_BIN', BIN], ['MCPWATCH_TESTCHILD', TESTCHILD], ['SAMPLERBENCH', SAMPLERBENCH]])
    if (!fs.existsSync(p)) throw new Error(`${what}: ${p} missing (run make bench)`);
  if (['latency', 'fanout', 'footprint'].some((s) => ONLY.has(s)) && !fs.existsSync(REF_SRC))
    throw new Error(`the original stack is not at ${REF_SRC}: set REF_SRC, or keep the checkout beside ../shared`);
  const res = { date: new Date().toISOString(), rounds: ROUNDS, quick: QUICK, machine: machine() };
  if (['latency', 'fanout', 'footprint'].some((s) => ONLY.has(s))) await prepareReference();
  const sections = { sampler: sectionSampler, latency: sectionLatency, ingest: sectionIngest, fanout: sectionFanout, footprint: sectionFootprint, ui: sectionUI };
  for (const [name, fn] of Object.entries(sections)) {
    if (!ONLY.has(name)) continue;
    const t = Date.now();
    log(`== ${name}`);
    try {
      res[name] = await fn();
    } catch (e) {
      log(`${name} FAILED: ${e.stack ?? e}`);
      res.errors = [...(res.errors ?? []), `${name}: ${e.message}`];
    }
    log(`== ${name} took ${Math.round((Date.now() - t) / 1000)} s`);
  }
  res.targets = targets(res);
  res.seconds = Math.round((Date.now() - started) / 1000);
  fs.mkdirSync(opt.out, { recursive: true });
  const stem = path.join(opt.out, res.date.slice(0, 10));
  fs.writeFileSync(stem + '.json', JSON.stringify(res, null, 1) + '\n');
  const md = markdown(res);
  fs.writeFileSync(stem + '.md', md);
  console.log('\n' + md);
  log(`wrote ${stem}.json and ${stem}.md in ${res.seconds} s`);
  if (res.errors) process.exitCode = 1;
}

function cleanup() {
  for (const c of loadChildren) c.kill('SIGKILL');
  for (const w of workers) w.w.kill();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 2;
  })
  .finally(cleanup);

// Helpers of the Node tests: build and run the real mcpwatch binary, connect the stock
// socket.io-client exactly as the original UI does, and wait for things with deadlines.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');

/** The deadline of every wait that is not a counting window: generous, for a loaded 2-core box. */
export const WAIT = 20000;

export const TOKEN = 'nodetest-token-' + Math.random().toString(36).slice(2);

const run = promisify(execFile);

/**
 * Builds mcpwatch and the test child into a temporary folder (or takes MCPWATCH_BIN and
 * MCPWATCH_TESTCHILD). Returns { bin, child, dir, cleanup }.
 */
export async function build() {
  const dir = await mkdtemp(join(tmpdir(), 'mcpwatch-nodetest-'));
  let bin = process.env.MCPWATCH_BIN;
  let child = process.env.MCPWATCH_TESTCHILD;
  const opts = { cwd: repoRoot, maxBuffer: 16 << 20, timeout: 600000 };
  const jobs = [];
  if (!bin) {
    bin = join(dir, 'mcpwatch');
    jobs.push(run('go', ['build', '-o', bin, '.'], opts));
  }
  if (!child) {
    child = join(dir, 'testchild');
    jobs.push(run('go', ['build', '-o', child, './backend/internal/testchild'], opts));
  }
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await Promise.all(jobs);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { bin, child, dir, cleanup };
}

/** A free TCP port on loopback (bound and released at once). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** A server definition for the test child. */
export function childServer(child, id, args, extra = {}) {
  return {
    id,
    name: id,
    command: child,
    args,
    transport: 'stdio',
    autoStart: true,
    restart: { policy: 'never', maxRetries: 0, backoffMs: 200 },
    ...extra,
  };
}

/**
 * Runs `mcpwatch --headless` in dir with config (written to dir/config.json) on port, with
 * MCPWATCH_TOKEN=TOKEN, until its ready line. stop() sends SIGTERM, then SIGKILL.
 */
export async function startMcpwatch({ bin, dir, config, port }) {
  await mkdir(dir, { recursive: true });
  const cfg = join(dir, 'config.json');
  if (config) await writeFile(cfg, JSON.stringify(config, null, 2));
  const proc = spawn(bin, ['--headless', '--config', cfg, '--data-dir', join(dir, 'data'), '--port', String(port)], {
    env: { ...process.env, MCPWATCH_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (b) => {
    stderr = (stderr + b.toString()).slice(-20000);
  });
  const exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  const ready = await new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`mcpwatch not ready after ${WAIT} ms; stderr:\n${stderr}`)), WAIT);
    const onData = (b) => {
      out += b.toString();
      const m = out.match(/mcpwatch: listening on (http:\/\/[^/\s]+)\/#token=(\S+)/);
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', onData);
        proc.stdout.resume();
        res({ url: m[1], token: m[2] });
      }
    };
    proc.stdout.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`mcpwatch exited (${code ?? signal}) before it was ready; stderr:\n${stderr}`));
    });
  }).catch(async (err) => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    throw err;
  });
  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
      const r = await exited;
      clearTimeout(t);
      return r;
    })();
    return stopping;
  };
  return {
    proc,
    port,
    url: `http://localhost:${port}`,
    readyUrl: ready.url,
    token: ready.token,
    stop,
    stderr: () => stderr,
  };
}

/**
 * Connects to /monitoring as the original UI does (with extra client options) and resolves once
 * connected; rejects on connect_error when reconnection is off, or after WAIT.
 */
export function connect(url, transports, extra = {}) {
  const socket = io(`${url}/monitoring`, {
    transports,
    timeout: 20000,
    reconnection: true,
    reconnectionAttempts: 5,
    reconnectionDelay: 1000,
    ...extra,
  });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      socket.close();
      rej(new Error(`not connected after ${WAIT} ms`));
    }, WAIT);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('connect_error', onError);
      res(socket);
    });
    const onError = (err) => {
      if (extra.reconnection === false) {
        clearTimeout(timer);
        socket.close();
        rej(err);
      }
    };
    socket.on('connect_error', onError);
  });
}

/** The connect_error a connection attempt ends with (reconnection off). */
export function connectError(url, transports, extra = {}) {
  const socket = io(`${url}/monitoring`, { transports, timeout: 20000, reconnection: false, ...extra });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      socket.close();
      rej(new Error(`neither connected nor refused after ${WAIT} ms`));
    }, WAIT);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.close();
      rej(new Error('connected, but should have been refused'));
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      res(err);
    });
  });
}

/** Emits with an ack callback and resolves with the ack (rejects after WAIT). */
export function ack(socket, event, ...args) {
  return socket.timeout(WAIT).emitWithAck(event, ...args);
}

/** Resolves with the first `event` whose payload satisfies pred, seen from now on. */
export function next(socket, event, pred = () => true, ms = WAIT) {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      rej(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const on = (data) => {
      if (!pred(data)) return;
      clearTimeout(timer);
      socket.off(event, on);
      res(data);
    };
    socket.on(event, on);
  });
}

/** Records every `event` from now on: { items, times, stop() }. */
export function record(socket, event) {
  const r = { items: [], times: [] };
  const on = (data) => {
    r.items.push(data);
    r.times.push(Date.now());
  };
  socket.on(event, on);
  r.stop = () => socket.off(event, on);
  return r;
}

/** Resolves once cond() (maybe async) is truthy; rejects after ms, naming what. */
export async function until(what, cond, ms = WAIT, every = 50) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await cond();
    if (last) return last;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(every);
  }
}

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** GET /api/v1/debug/stats with the token. */
export async function debugStats(url) {
  const r = await fetch(`${url}/api/v1/debug/stats`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  if (r.status !== 200) throw new Error(`debug/stats: ${r.status} ${await r.text()}`);
  return r.json();
}

/** Closes sockets, ignoring those already closed. */
export function closeAll(...sockets) {
  for (const s of sockets) s?.close();
}

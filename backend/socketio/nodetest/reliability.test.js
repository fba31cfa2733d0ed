// Reliability (issue 6) against the real mcpwatch binary: hostile child output end to end, and
// short versions of the soak scenarios of reliability.js (make soak runs them at full length).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  TOKEN, ack, build, childServer, closeAll, connect, freePort, record, startMcpwatch, until,
} from './lib.js';
import { checkChurn, checkFlood, checkStartStop, churn, flood, startStop } from './reliability.js';

let built;

before(async () => {
  built = await build();
}, { timeout: 600000 });

after(async () => {
  await built?.cleanup();
});

// What the hostile child writes before its 10 MB line (Go string escapes, decoded by testchild).
const RAW = [
  'bad \\xff\\xfe utf8\\n',
  'nul \\x00 byte\\n',
  '\\x1b[31mERROR\\x1b[0m colored\\n',
  'crlf line\\r\\n',
  'cr inside\\rkept\\n',
].join('');
const BIG = 10 << 20;
const MAX_LINE = 64 << 10;

/** Checks the entries of the hostile child, from the store or from the live stream. */
function checkHostile(entries, where) {
  const out = entries.filter((e) => e.metadata.stream === 'stdout');
  const msgs = out.map((e) => e.message);
  const want = ['bad \uFFFD utf8', 'nul \u0000 byte', '\u001b[31mERROR\u001b[0m colored', 'crlf line', 'cr inside\rkept'];
  assert.deepEqual(msgs.slice(0, 5), want, `${where}: the short lines`);
  assert.equal(out[2].level, 'error', `${where}: the level is read through the colour codes`);
  for (const e of out.slice(0, 5)) assert.equal(e.metadata.truncated, undefined, `${where}: ${JSON.stringify(e.message)} marked truncated`);
  assert.equal(out.length, 6, `${where}: one entry for the 10 MB line, not ${out.length - 5}`);
  const big = out[5];
  assert.equal(big.metadata.truncated, true, `${where}: the 10 MB line is marked truncated`);
  assert.equal(big.message.length, MAX_LINE, `${where}: the 10 MB line is cut at 64 KiB`);
  assert.ok(/^x+$/.test(big.message), `${where}: the cut line holds the line's start`);
  for (let i = 1; i < entries.length; i++) assert.ok(entries[i].metadata.seq > entries[i - 1].metadata.seq, `${where}: seq order`);
}

describe('hostile child output', () => {
  it('invalid UTF-8, NUL, ANSI colours, \\r\\n and a 10 MB line with no newline: child → store → REST and → process:logs', async () => {
    const config = {
      servers: [childServer(built.child, 'hostile', ['-raw', RAW, '-bigline', String(BIG)], { autoStart: false })],
      settings: { historyIntervalMs: -1 },
    };
    const mw = await startMcpwatch({ bin: built.bin, dir: join(built.dir, 'hostile'), config, port: await freePort() });
    const s = await connect(mw.url, ['websocket'], { auth: { token: TOKEN } });
    try {
      const logs = record(s, 'process:logs');
      assert.equal((await ack(s, 'subscribe-server-logs', { serverId: 'hostile', tail: 0 })).ok, true);
      assert.equal((await ack(s, 'start-server', { serverId: 'hostile' })).ok, true);
      await until('the cut 10 MB line live', () => logs.items.some((e) => e.logData.metadata.truncated));
      logs.stop();
      checkHostile(logs.items.map((e) => e.logData), 'process:logs');

      const get = async (q) => {
        const r = await fetch(`${mw.url}/api/v1/servers/hostile/logs?${q}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
        assert.equal(r.status, 200, `GET logs?${q}`);
        return r;
      };
      const { entries } = await (await get('format=json')).json();
      checkHostile(entries, 'REST json');
      // Colours are kept for the UI, stripped for search.
      const found = (await (await get(`q=${encodeURIComponent('ERROR colored')}`)).json()).entries;
      assert.deepEqual(found.map((e) => e.message), ['\u001b[31mERROR\u001b[0m colored']);
      const nd = (await (await get('format=ndjson')).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
      checkHostile(nd, 'REST ndjson');
      const text = await (await get('format=text')).text();
      assert.ok(text.includes('crlf line'), 'text format');
      // The monitor is still fine.
      assert.equal(typeof (await ack(s, 'ping', {})), 'object');
      const h = await fetch(`${mw.url}/api/v1/health`);
      assert.equal(h.status, 200);
    } finally {
      closeAll(s);
      const { code } = await mw.stop();
      assert.equal(code, 0, `mcpwatch exit code; stderr:\n${mw.stderr()}`);
    }
  });
});

// Short versions of the soak: about 10 s each, the same checks.
describe('load, short', () => {
  it('500 sockets in churn for 10 s: clients, subscriptions and goroutines back to the baseline, RSS settles', async () => {
    const fig = await churn({ bin: built.bin, child: built.child, dir: join(built.dir, 'churn'), ms: 10000, sockets: 500 });
    checkChurn(fig);
  });

  it('20 000 lines/s for 5 s to 10 subscribers, 2 stalled: every line on disk, memory bounded, the others keep up', async () => {
    const fig = await flood({ bin: built.bin, child: built.child, dir: join(built.dir, 'flood'), rate: 20000, seconds: 5, subscribers: 10, stalled: 2 });
    checkFlood(fig);
  });

  it('50 servers started and stopped in a loop for 10 s: no process, fd or goroutine left', async () => {
    const fig = await startStop({ bin: built.bin, child: built.child, dir: join(built.dir, 'startstop'), ms: 10000, servers: 50 });
    checkStartStop(fig);
  });
});

// make soak: the reliability scenarios of reliability.js at full length, with their figures.
//   node soak.mjs [churn|flood|startstop ...]     (default: all three)
// SOAK_SCALE=0.1 shortens every duration (a quick look); the checks stay the same.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from './lib.js';
import { checkChurn, checkFlood, checkStartStop, churn, flood, startStop } from './reliability.js';

const scale = Number(process.env.SOAK_SCALE ?? 1);
const want = process.argv.slice(2);
const runs = {
  churn: { fn: churn, check: checkChurn, opts: { ms: 60000 * scale, sockets: 500 } },
  flood: { fn: flood, check: checkFlood, opts: { rate: 50000, seconds: Math.max(1, Math.round(30 * scale)), subscribers: 10, stalled: 2 } },
  startstop: { fn: startStop, check: checkStartStop, opts: { ms: 60000 * scale, servers: 50 } },
};

const built = await build();
const work = await mkdtemp(join(tmpdir(), 'mcpwatch-soak-'));
let failed = false;
try {
  for (const [name, r] of Object.entries(runs)) {
    if (want.length && !want.includes(name)) continue;
    const t0 = Date.now();
    console.log(`soak ${name}: ${JSON.stringify(r.opts)} ...`);
    let fig;
    try {
      fig = await r.fn({ bin: built.bin, child: built.child, dir: join(work, name), ...r.opts });
      r.check(fig);
      const { stderr, ...shown } = fig;
      console.log(`soak ${name}: PASS in ${Math.round((Date.now() - t0) / 1000)} s\n${JSON.stringify(shown, null, 2)}`);
    } catch (err) {
      failed = true;
      console.log(`soak ${name}: FAIL in ${Math.round((Date.now() - t0) / 1000)} s\n${err.stack ?? err}`);
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
  await built.cleanup();
}
process.exit(failed ? 1 : 0);

// pidusage (the original stack's sampler, same version as ../shared/bench/reference-node) on the
// given pids, one batched call per round: the counterpart of bench/samplerbench.
//   node pidusage-bench.cjs ITERS pid...
// Prints one JSON object: CPU of this process (user+system, all threads) and wall time per
// process per sample. pidusage has no tree and no fd count.
'use strict';
const pidusage = require('pidusage');

async function main() {
  const iters = Number(process.argv[2]);
  const pids = process.argv.slice(3).map(Number);
  if (!(iters > 0) || pids.length === 0) {
    console.error('usage: node pidusage-bench.cjs ITERS pid...');
    process.exit(2);
  }
  const arg = pids.length === 1 ? pids[0] : pids;
  for (let i = 0; i < 3; i++) await pidusage(arg); // history, kept descriptors, JIT
  if (global.gc) global.gc();
  const h0 = process.memoryUsage();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) await pidusage(arg);
  const wall = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  const per = iters * pids.length;
  console.log(JSON.stringify({
    tool: 'pidusage',
    procs: pids.length,
    iters,
    cpuNsPerProc: ((c.user + c.system) * 1000) / per,
    wallNsPerProc: wall / per,
    rssBytes: process.memoryUsage().rss,
    heapGrowthBytes: process.memoryUsage().heapUsed - h0.heapUsed,
  }));
  pidusage.clear();
}
main().catch((e) => { console.error(e); process.exit(1); });

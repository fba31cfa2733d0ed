// UI performance probe of the log view (not part of make test; issue 7 reuses it):
//   1. burst: a child prints N lines (default 50 000) as fast as it can while its Logs tab is open;
//      time until the view holds them all and shows the last one, and the long tasks meanwhile;
//   2. steady: the same view, now holding N lines, receives R lines/s (default 1 000) for S seconds
//      (the oldest are evicted at the cap); long tasks, frame rate, lines received.
//
//   node e2e/perf.mjs [--lines 50000] [--burst-rate 0 (as fast as possible)] [--rate 1000]
//                     [--seconds 10] [--json FILE]
//                     [--max-render-ms N] [--max-longtask-ms N] [--min-fps N]
// (make e2e-perf ARGS="…"). Exits 1 when a given budget is exceeded, 2 when the probe fails.
// Env as for ui.e2e.mjs: MCPWATCH_BIN, MCPWATCH_TESTCHILD, CHROMIUM_PATH.
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { launchChromium, pidsOf, prepareTestChild, startMcpwatch, tempDir, waitUntil, watchConsole } from './lib.mjs'

const { values: opt } = parseArgs({
  options: {
    lines: { type: 'string', default: '50000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'burst-rate': { type: 'string', default: '0' },
    json: { type: 'string' },
    'max-render-ms': { type: 'string' },
    'max-longtask-ms': { type: 'string' },
    'min-fps': { type: 'string' },
  },
})
const LINES = Number(opt.lines)
const RATE = Number(opt.rate)
const SECONDS = Number(opt.seconds)
const BURST_RATE = Number(opt['burst-rate'])
const ID = 'perf'

// Runs in the page before the app: long tasks (PerformanceObserver 'longtask') and frame times.
function instrument() {
  window.__perf = { longtasks: [], frames: [] }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__perf.longtasks.push({ start: e.startTime, duration: e.duration })
  }).observe({ type: 'longtask', buffered: true })
  const tick = (t) => {
    window.__perf.frames.push(t)
    if (window.__perf.frames.length > 100_000) window.__perf.frames.splice(0, 50_000)
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
}

/** Long tasks and frames of the page between two performance.now() marks. */
async function window_(page, from, to) {
  return page.evaluate(
    ([from, to]) => {
      const lt = window.__perf.longtasks.filter((e) => e.start >= from && e.start < to)
      const frames = window.__perf.frames.filter((t) => t >= from && t < to)
      let worstFrame = 0
      for (let i = 1; i < frames.length; i++) worstFrame = Math.max(worstFrame, frames[i] - frames[i - 1])
      return {
        ms: Math.round(to - from),
        longTasks: lt.length,
        longTaskTotalMs: Math.round(lt.reduce((a, e) => a + e.duration, 0)),
        longTaskMaxMs: Math.round(lt.reduce((a, e) => Math.max(a, e.duration), 0)),
        fps: frames.length > 1 ? Math.round(((frames.length - 1) * 1000) / (frames[frames.length - 1] - frames[0])) : 0,
        worstFrameMs: Math.round(worstFrame),
        jsHeapMiB: performance.memory ? Math.round(performance.memory.usedJSHeapSize / 2 ** 20) : undefined,
      }
    },
    [from, to],
  )
}

const count = (page) => page.getByTestId('log-list').getAttribute('data-count').then(Number)
const droppedText = async (page) => ((await page.getByTestId('log-dropped-notice').allTextContents())[0] ?? '').trim()
const now = (page) => page.evaluate(() => performance.now())

let dir, server, browser, childExe
const result = { lines: LINES, burstRate: BURST_RATE, rate: RATE, seconds: SECONDS }
const errors = []
let code = 0
try {
  dir = tempDir('mcpwatch-perf-')
  childExe = prepareTestChild(dir)
  ;[server, browser] = await Promise.all([startMcpwatch(dir), launchChromium()])
  const def = (args) => ({ id: ID, name: 'Perf', command: childExe, args, transport: 'stdio', restart: { policy: 'never', maxRetries: 0, backoffMs: 1000 } })
  await server.api('servers', { method: 'POST', body: JSON.stringify(def(['-lines', String(LINES), '-rate', String(BURST_RATE), '-levels', 'info,info,warn,error'])) })

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(30_000)
  watchConsole(page, errors)
  await page.addInitScript(instrument)
  await page.goto(`${server.base}/servers/${ID}?tab=logs#token=${server.token}`)
  await page.locator('[data-testid="connection-indicator"][data-state="connected"]').waitFor()
  await page.getByTestId('log-list').waitFor()

  // 1. burst
  const t0 = await now(page)
  await page.getByTestId('start-button').click()
  await page.getByTestId('log-row').first().waitFor()
  const tFirst = await now(page)
  // Done when the child's last line is on screen (follow keeps the end in view). Lines the backend
  // dropped for this view (a slow reader) are not waited for: they are reported.
  try {
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('[data-testid="log-row"] .msg')].some((m) => m.textContent.endsWith(` line ${n}`)),
      LINES,
      { polling: 'raf', timeout: 120_000 },
    )
  } catch (e) {
    const rows = await page.getByTestId('log-row').evaluateAll((r) => r.slice(-3).map((x) => `${x.dataset.seq} ${x.textContent}`))
    const notice = await page.getByTestId('log-dropped-notice').allTextContents()
    throw new Error(`${e.message}\nkept ${await count(page)}, last rows ${JSON.stringify(rows)}, dropped notice ${JSON.stringify(notice)}`)
  }
  const t1 = await now(page)
  result.burst = {
    firstRowMs: Math.round(tFirst - t0),
    allRenderedMs: Math.round(t1 - t0),
    kept: await count(page),
    dropped: await droppedText(page),
    ...(await window_(page, t0, t1)),
  }

  // 2. steady: restart the child at RATE lines/s; the view keeps its lines (seq goes on).
  await server.api(`servers/${ID}/stop`, { method: 'POST' })
  await page.locator('[data-testid="status-badge"][data-status="stopped"]').waitFor()
  await server.api(`servers/${ID}`, { method: 'PUT', body: JSON.stringify(def(['-lines', '-1', '-rate', String(RATE), '-levels', 'info,info,warn,error'])) })
  await server.api(`servers/${ID}/start`, { method: 'POST' })
  await page.locator('[data-testid="status-badge"][data-status="running"]').waitFor()
  // measure from the first new line on, for SECONDS (the measurement window is the point here)
  const lastSeq = () => page.getByTestId('log-row').last().getAttribute('data-seq').then(Number)
  const seq0 = await lastSeq()
  await waitUntil(async () => (await lastSeq()) > seq0 + RATE / 10, 'the first steady lines', { timeout: 30_000, interval: 50 })
  const storedSeq = async () => (await server.api(`servers/${ID}/logs?limit=1`)).entries.at(-1)?.metadata?.seq ?? 0
  const s0 = await now(page)
  const [q0, p0] = await Promise.all([lastSeq(), storedSeq()])
  await page.waitForFunction((t) => performance.now() >= t, s0 + SECONDS * 1000, { polling: 'raf', timeout: SECONDS * 1000 + 30_000 })
  const s1 = await now(page)
  const [q1, p1] = await Promise.all([lastSeq(), storedSeq()])
  result.steady = {
    linesShown: q1 - q0,
    linesPerSecond: Math.round(((q1 - q0) * 1000) / (s1 - s0)),
    // what the child really wrote meanwhile (its ticker can fall behind on a loaded machine)
    storedPerSecond: Math.round(((p1 - p0) * 1000) / (s1 - s0)),
    kept: await count(page),
    dropped: await droppedText(page),
    ...(await window_(page, s0, s1)),
  }
  await server.api(`servers/${ID}/stop`, { method: 'POST' })
  result.consoleErrors = errors

  const b = result.burst
  const s = result.steady
  console.log(
    `perf: ${LINES.toLocaleString('en')} lines: first row ${b.firstRowMs} ms, all rendered in ${b.allRenderedMs} ms (kept ${b.kept}); ` +
      `long tasks ${b.longTasks} (total ${b.longTaskTotalMs} ms, max ${b.longTaskMaxMs} ms); ${b.fps} fps, worst frame ${b.worstFrameMs} ms` +
      (b.dropped ? `; ${b.dropped}` : ''),
  )
  console.log(
    `perf: ${RATE} lines/s for ${SECONDS} s with ${s.kept} kept: ${s.linesPerSecond} lines/s shown (${s.storedPerSecond}/s stored); long tasks ${s.longTasks} ` +
      `(total ${s.longTaskTotalMs} ms, max ${s.longTaskMaxMs} ms); ${s.fps} fps, worst frame ${s.worstFrameMs} ms; JS heap ${s.jsHeapMiB ?? '?'} MiB` +
      (s.dropped ? `; ${s.dropped}` : ''),
  )
  if (errors.length) console.log(`perf: ${errors.length} console error(s):\n  ${errors.join('\n  ')}`)

  const over = []
  if (opt['max-render-ms'] && b.allRenderedMs > Number(opt['max-render-ms'])) over.push(`render ${b.allRenderedMs} ms > ${opt['max-render-ms']}`)
  if (opt['max-longtask-ms'] && s.longTaskMaxMs > Number(opt['max-longtask-ms'])) over.push(`steady long task ${s.longTaskMaxMs} ms > ${opt['max-longtask-ms']}`)
  if (opt['min-fps'] && s.fps < Number(opt['min-fps'])) over.push(`steady ${s.fps} fps < ${opt['min-fps']}`)
  result.overBudget = over
  if (over.length) {
    console.log(`PERF OVER BUDGET: ${over.join('; ')}`)
    code = 1
  } else console.log('PERF DONE')
} catch (e) {
  console.log(`PERF FAILED: ${e?.stack ?? e}`)
  if (server) console.log(`--- mcpwatch output ---\n${server.output().split('\n').slice(-40).join('\n')}`)
  result.error = String(e?.message ?? e)
  code = 2
} finally {
  if (browser) await browser.close().catch(() => {})
  if (server) await server.stop()
  if (childExe) for (const pid of pidsOf(childExe)) process.kill(pid, 'SIGKILL')
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(result, null, 2) + '\n')
}
process.exitCode = code

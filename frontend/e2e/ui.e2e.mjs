// End-to-end test of the web UI: Debian's chromium (playwright-core) against a real
// `mcpwatch --headless` supervising a real child process.
//
//   node e2e/ui.e2e.mjs        (npm run e2e; make test-e2e builds everything first)
//
// Env: MCPWATCH_BIN (default ../build/bin/mcpwatch-headless), MCPWATCH_TESTCHILD (default: built
// with go), CHROMIUM_PATH (default /usr/bin/chromium), E2E_SLOW=2 (doubles every deadline),
// E2E_KEEP=1 (keep the temp dir). Screenshots go to e2e/screenshots/ (git-ignored).
import fs from 'node:fs'
import path from 'node:path'
import { createRun, killLeftovers, launchChromium, pidsOf, prepareTestChild, SCREENSHOTS, sec, startMcpwatch, stopMcpwatch, tempDir, waitUntil, watchConsole } from './lib.mjs'

const SERVER_NAME = 'E2E child'
const SERVER_ID = 'e2e-child'
const CHILD_ARGS = ['-rate', '20', '-lines', '-1', '-levels', 'info,info,warn,error', '-cpu', '0.2', '-mem', '20']
const TOTAL_DEADLINE = sec(180)

let dir, childExe, server, browser, page
const run = createRun({ failurePrefix: 'failure-', page: () => page })
const { step, notes, consoleErrors } = run

const tid = (id) => page.getByTestId(id)
/** The text field of an Element Plus input: the testid lands on the <input> itself in Element Plus
 * 2.14 (non-class attributes go to the inner input), on the wrapper in the README; both work. */
const field = (id) => tid(id).locator('xpath=descendant-or-self::*[self::input or self::textarea]').first()
const fieldN = (id, i) => tid(id).nth(i).locator('xpath=descendant-or-self::*[self::input or self::textarea]').first()
const text = async (id) => ((await tid(id).first().textContent()) ?? '').trim()
const attr = (id, name) => tid(id).first().getAttribute(name)

async function shot(name) {
  // Let transitions end (Element Plus tags zoom in when they mount) and the last flush reach a
  // frame before the capture.
  await page.waitForFunction(
    () => document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity),
    null,
    { timeout: sec(5) },
  )
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) })
}

/** data-level, data-stream and message of the log rows in the DOM (the visible window). */
function visibleRows() {
  return tid('log-row').evaluateAll((rows) =>
    rows.map((r) => ({
      seq: Number(r.getAttribute('data-seq')),
      level: r.getAttribute('data-level'),
      stream: r.getAttribute('data-stream'),
      msg: r.querySelector('.msg')?.textContent ?? '',
    })),
  )
}

async function chooseLevel(label) {
  await tid('log-level-filter').click()
  const option = page.locator('.el-select-dropdown__item:visible').filter({ hasText: new RegExp(`^\\s*${label}\\s*$`) })
  await option.click()
  await waitUntil(async () => (await tid('log-level-filter').textContent())?.includes(label), `the level filter to show "${label}"`)
}

async function search(q) {
  const input = field('log-search')
  await input.fill(q)
  const q2 = encodeURIComponent(q)
  const stored = async () => (await server.api(`servers/${SERVER_ID}/logs?q=${q2}&limit=5000`)).entries.length
  const before = await stored()
  await tid('log-search-button').click()
  const banner = tid('log-search-banner')
  await banner.waitFor()
  await waitUntil(async () => (await banner.textContent())?.includes(q), `the banner to name ${q}`)
  const after = await stored()
  const shown = Number((await tid('log-list').getAttribute('data-count')) ?? -1)
  const bannerCount = Number(((await banner.textContent()) ?? '').trim().split(/\s/)[0].replace(/[^0-9]/g, ''))
  if (!(shown > 0)) throw new Error(`search ${q}: no rows shown`)
  if (bannerCount !== shown) throw new Error(`search ${q}: banner says ${bannerCount}, list holds ${shown}`)
  // The child keeps logging: the UI's answer lies between two REST answers around it.
  if (!(shown >= before && shown <= after)) throw new Error(`search ${q}: UI found ${shown}, REST ${before}…${after}`)
  return shown
}

async function teardown() {
  if (browser) await browser.close().catch((e) => console.log(`browser close: ${e.message}`))
  if (server) await stopMcpwatch(server, run.failed)
  // mcpwatch stops its children on SIGTERM; anything still running our copy of the child is ours.
  if (childExe) killLeftovers(pidsOf(childExe), 'test child(ren)', notes)
  if (dir) {
    if (run.failed || process.env.E2E_KEEP) console.log(`temp dir kept: ${dir}`)
    else fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function main() {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  for (const f of fs.readdirSync(SCREENSHOTS)) if (f.startsWith('failure-')) fs.rmSync(path.join(SCREENSHOTS, f))
  dir = tempDir()

  await step('start mcpwatch --headless and chromium', async () => {
    childExe = prepareTestChild(dir)
    ;[server, browser] = await Promise.all([startMcpwatch(dir), launchChromium()])
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' })
    page = await context.newPage()
    page.setDefaultTimeout(sec(20))
    watchConsole(page, consoleErrors)
  })

  await step('open the UI with the token from the address', async () => {
    await page.goto(`${server.base}/#token=${server.token}`)
    await page.locator('[data-testid="connection-indicator"][data-state="connected"]').waitFor()
    await tid('servers-empty').waitFor()
    if (page.url().includes(server.token)) throw new Error(`the token stayed in the address bar: ${page.url()}`)
  })

  await step('add a server through the form', async () => {
    await tid('add-server-button').click()
    await page.waitForURL(/\/servers\/new$/)
    await field('form-name').fill(SERVER_NAME)
    await field('form-command').fill(childExe)
    for (let i = 0; i < CHILD_ARGS.length; i++) {
      if ((await tid('form-arg').count()) <= i) await tid('form-add-arg').click()
      await fieldN('form-arg', i).fill(CHILD_ARGS[i])
    }
    await tid('save-button').click()
    await page.waitForURL(new RegExp(`/servers/${SERVER_ID}(\\?.*)?$`))
    await waitUntil(async () => (await text('server-title')) === SERVER_NAME, 'the detail title')
    await page.locator('[data-testid="status-badge"][data-status="stopped"]').waitFor()
    const def = await server.api(`servers/${SERVER_ID}`)
    const got = JSON.stringify([def.command, def.args])
    if (got !== JSON.stringify([childExe, CHILD_ARGS])) throw new Error(`stored definition differs: ${got}`)
  })

  await step('start it: running', async () => {
    await tid('start-button').click()
    await page.locator('[data-testid="status-badge"][data-status="running"]').waitFor()
    await waitUntil(async () => /^\d+$/.test(await text('tile-pid')), 'a pid in the PID tile')
  })

  await step('CPU and memory update live', async () => {
    // CPU moves from sample to sample; the RSS of a child holding 20 MiB is steady to the shown
    // decimal, so memory "updating" is proven by new samples reaching its chart, and its value is
    // checked against the kernel's own count for the pid.
    const cpus = new Set()
    const mems = new Set()
    const points0 = Number(await attr('memory-chart', 'data-points'))
    let points = points0
    await waitUntil(
      async () => {
        const c = await text('cpu-value')
        const m = await text('memory-value')
        if (c !== '—' && c !== '') cpus.add(c)
        if (m !== '—' && m !== '') mems.add(m)
        points = Number(await attr('memory-chart', 'data-points'))
        return cpus.size >= 2 && mems.size >= 1 && points >= points0 + 3 && { cpus: [...cpus], mems: [...mems], points }
      },
      'two different CPU values and three new memory samples',
      { timeout: sec(30), interval: 200 },
    )
    const cpuNums = [...cpus].map((c) => parseFloat(c))
    if (!cpuNums.some((v) => v >= 5 && v <= 60)) throw new Error(`no CPU value near the child's 20 % of a core: ${[...cpus]}`)
    const mib = (m) => {
      const [, n, u] = /([\d.]+)\s*(\w+)/.exec(m) ?? []
      return parseFloat(n) * ({ B: 2 ** -20, KiB: 2 ** -10, MiB: 1, GiB: 1024 }[u] ?? NaN)
    }
    const shown = mib(await text('memory-value'))
    const pid = Number(await text('tile-pid'))
    const vmRss = Number(/VmRSS:\s*(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
    if (!(shown >= 20) || Math.abs(shown - vmRss) > 4) throw new Error(`memory shows ${shown.toFixed(1)} MiB, the kernel says ${vmRss.toFixed(1)} MiB for pid ${pid}`)
    notes.push(`CPU values seen: ${[...cpus].join(', ')}; memory ${[...mems].join(', ')} (kernel: ${vmRss.toFixed(1)} MiB); memory chart ${points0} → ${points} points`)
  })

  await step('screenshot: Process (light)', async () => {
    await waitUntil(async () => Number(await attr('cpu-chart', 'data-points')) >= 3, 'the CPU chart to have 3 points')
    await shot('process-light')
  })

  await step('log lines arrive', async () => {
    await tid('tab-logs').click()
    await page.waitForURL(/tab=logs/)
    await tid('log-row').first().waitFor()
    const n1 = Number(await attr('log-list', 'data-count'))
    await waitUntil(async () => Number(await attr('log-list', 'data-count')) > n1 + 10, 'ten more lines')
    const rows = await visibleRows()
    const child = rows.filter((r) => /^(INFO|WARN|ERROR) line \d+$/.test(r.msg))
    if (child.length < 10) throw new Error(`few child lines among the rows: ${JSON.stringify(rows.slice(-5))}`)
    for (const r of child) {
      const want = r.msg.split(' ')[0].toLowerCase()
      if (r.level !== want) throw new Error(`row ${r.seq} "${r.msg}" has data-level ${r.level}`)
    }
    const seqs = rows.map((r) => r.seq)
    if (seqs.some((s, i) => i > 0 && s <= seqs[i - 1])) throw new Error(`rows not in seq order: ${seqs}`)
    if (await tid('log-follow').getAttribute('data-active') !== 'true') throw new Error('follow is not on')
    await shot('logs-light')
  })

  await step('filter to errors', async () => {
    await chooseLevel('error and above')
    let before = 0
    await waitUntil(
      async () => {
        const rows = await visibleRows()
        before = rows.length
        return rows.length > 0 && rows.every((r) => r.level === 'error')
      },
      'only error rows',
    )
    // …and it stays so while new lines arrive.
    const n = Number(await attr('log-list', 'data-count'))
    await waitUntil(async () => Number(await attr('log-list', 'data-count')) >= n + 2, 'two more error lines')
    const rows = await visibleRows()
    const bad = rows.filter((r) => r.level !== 'error')
    if (bad.length || !rows.length) throw new Error(`non-error rows under the error filter: ${JSON.stringify(bad.slice(0, 3))} (of ${rows.length}, ${before} before)`)
    await chooseLevel('all levels')
    await waitUntil(async () => (await visibleRows()).some((r) => r.level === 'info'), 'info rows back')
  })

  await step('search stored logs: text', async () => {
    const q = 'WARN line 1'
    const n = await search(q)
    const rows = await visibleRows()
    const bad = rows.filter((r) => !r.msg.includes(q))
    if (bad.length) throw new Error(`rows not containing "${q}": ${JSON.stringify(bad.slice(0, 3))}`)
    notes.push(`text search "${q}": ${n} stored lines`)
  })

  await step('search stored logs: /regex/', async () => {
    const q = '/^WARN line \\d*7$/'
    const re = /^WARN line \d*7$/
    const n = await search(q)
    const rows = await visibleRows()
    const bad = rows.filter((r) => !re.test(r.msg) || r.level !== 'warn')
    if (bad.length) throw new Error(`rows not matching ${q}: ${JSON.stringify(bad.slice(0, 3))}`)
    notes.push(`regex search ${q}: ${n} stored lines`)

    await field('log-search').fill('/(/')
    await tid('log-search-error').waitFor()
    if (!(await tid('log-search-button').isDisabled())) throw new Error('Search is enabled with a bad regex')

    await tid('log-search-clear').click()
    await tid('log-search-banner').waitFor({ state: 'detached' })
    await waitUntil(async () => (await visibleRows()).some((r) => r.level === 'info'), 'the live tail back')
  })

  await step('screenshots: Servers and System (light)', async () => {
    await tid('nav-servers').click()
    const row = page.locator(`[data-testid="server-row"][data-server-id="${SERVER_ID}"]`)
    await row.waitFor()
    if ((await row.getAttribute('data-status')) !== 'running') throw new Error('the list does not show it running')
    // a sparkline draws from its second live sample on
    await row.getByTestId('server-cpu-sparkline').locator('polyline').waitFor({ state: 'attached' })
    await row.getByTestId('server-memory-sparkline').locator('polyline').waitFor({ state: 'attached' })
    await waitUntil(async () => (await row.getByTestId('server-cpu').textContent())?.trim() !== '—', 'CPU in the list')
    await shot('servers-light')

    await tid('nav-system').click()
    await page.waitForURL(/\/system$/)
    await waitUntil(async () => (await text('system-cpu-value')) !== '—', 'the system CPU value')
    // the REST sample and the first live one come together; a third point makes a visible line
    await waitUntil(async () => Number(await attr('system-cpu-chart', 'data-points')) >= 3, 'three system chart points', { timeout: sec(20) })
    await shot('system-light')
  })

  await step('dark theme: screenshots of the four pages', async () => {
    await tid('theme-toggle').click()
    await page.locator('html.dark').waitFor({ state: 'attached' })
    await shot('system-dark')
    await tid('nav-servers').click()
    await page.locator(`[data-testid="server-row"][data-server-id="${SERVER_ID}"]`).getByTestId('server-cpu-sparkline').locator('polyline').waitFor({ state: 'attached' })
    await shot('servers-dark')
    await page.locator(`[data-testid="server-row"][data-server-id="${SERVER_ID}"]`).getByTestId('server-name').click()
    await page.waitForURL(new RegExp(`/servers/${SERVER_ID}`))
    await tid('tab-process').click()
    await waitUntil(async () => Number(await attr('cpu-chart', 'data-points')) >= 3, 'the CPU chart (history) drawn')
    await waitUntil(async () => (await text('cpu-value')) !== '—', 'a CPU value')
    await shot('process-dark')
    await tid('tab-logs').click()
    await tid('log-row').first().waitFor()
    await shot('logs-dark')
    await tid('theme-toggle').click()
    await page.locator('html:not(.dark)').waitFor({ state: 'attached' })
  })

  await step('stop it: stopped', async () => {
    const lastSeq = Math.max(...(await visibleRows()).map((r) => r.seq))
    await tid('stop-button').click()
    await page.locator('[data-testid="status-badge"][data-status="stopped"]').waitFor()
    await waitUntil(async () => (await visibleRows()).some((r) => r.stream === 'system' && r.seq > lastSeq), 'a system line about the stop')
    const v = await server.api(`servers/${SERVER_ID}`)
    const status = v.state?.status ?? v.status
    if (status !== 'stopped') throw new Error(`REST says ${status}`)
  })

  await step('reload: history drawn at once', async () => {
    await tid('tab-process').click()
    await page.waitForURL(/tab=process/)
    const t0 = Date.now()
    await page.reload()
    await page.locator('[data-testid="status-badge"][data-status="stopped"]').waitFor()
    // Stopped: no live sample can come, so whatever the charts hold is the stored history.
    const points = await waitUntil(
      async () => {
        const c = Number(await attr('cpu-chart', 'data-points'))
        const m = Number(await attr('memory-chart', 'data-points'))
        return c >= 3 && m >= 3 && [c, m]
      },
      'both charts to hold the history',
      { timeout: sec(10) },
    )
    const ms = Date.now() - t0
    // …and it is drawn: the CPU line's blue is on the canvas.
    const blue = await tid('cpu-chart').locator('canvas').evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && Math.abs(d[i] - 64) < 30 && Math.abs(d[i + 1] - 158) < 30 && d[i + 2] > 220) n++
      return n
    })
    if (blue < 20) throw new Error(`the CPU chart canvas shows no line (${blue} blue pixels)`)
    notes.push(`after reload the charts held ${points[0]}/${points[1]} points within ${ms} ms of the reload; ${blue} line pixels`)
    if ((await text('cpu-value')) !== '—') throw new Error('a stopped server shows a CPU value')

    await tid('tab-logs').click()
    await tid('log-row').first().waitFor()
  })

  await step('no console errors', async () => {
    if (consoleErrors.length) throw new Error(`${consoleErrors.length} console error(s):\n${consoleErrors.join('\n')}`)
  })
}

await run.finish({ main, teardown, deadline: TOTAL_DEADLINE })

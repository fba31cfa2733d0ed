// End-to-end test of the MCP side of the web UI (issue 8): Debian's chromium (playwright-core)
// against a real `mcpwatch --headless` that runs the reference MCP server
// (@modelcontextprotocol/server-everything, installed by build/make/mcp.mk) as a stdio server.
//
//   node e2e/mcp.e2e.mjs       (make test-e2e builds and installs everything first)
//
// Env: MCPWATCH_BIN (default ../build/bin/mcpwatch-headless), MCP_EVERYTHING_DIR (default
// ../backend/mcpclient/testdata/everything), CHROMIUM_PATH (default /usr/bin/chromium),
// E2E_SLOW=2 (doubles every deadline), E2E_KEEP=1 (keep the temp dir).
// Screenshots go to e2e/screenshots/ (git-ignored).
import fs from 'node:fs'
import path from 'node:path'
import { createRun, killLeftovers, launchChromium, pidsWithEnv, ROOT, SCREENSHOTS, sec, startMcpwatch, stopMcpwatch, tempDir, waitUntil, watchConsole } from './lib.mjs'

const SERVER_ID = 'everything'
const SERVER_NAME = 'E2E everything'
const MCP_NAME = 'mcp-servers/everything' // serverInfo.name of server-everything
const MCP_TITLE = 'Everything Reference Server' // its serverInfo.title, what the Tools tab shows
const ECHO_MESSAGE = `hello from the e2e test ${process.pid}`
const RUN_MARK = 'MCPWATCH_E2E_RUN' // env var set on the MCP server: teardown finds it by its value
const TOTAL_DEADLINE = sec(120)

let dir, server, browser, page
const run = createRun({ failurePrefix: 'failure-mcp-', page: () => page })
const { step, notes, consoleErrors } = run

const tid = (id) => page.getByTestId(id)
const text = async (loc) => ((await loc.first().textContent()) ?? '').trim()

/** The entry of the installed server-everything: the package's `bin`, as a path. */
function everythingEntry() {
  const base = process.env.MCP_EVERYTHING_DIR || path.join(ROOT, 'backend', 'mcpclient', 'testdata', 'everything')
  const pkgDir = path.join(base, 'node_modules', '@modelcontextprotocol', 'server-everything')
  const pkgFile = path.join(pkgDir, 'package.json')
  if (!fs.existsSync(pkgFile)) throw new Error(`${pkgFile} is missing: run make deps-mcp (build/make/mcp.mk)`)
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'))
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0]
  const entry = path.join(pkgDir, bin ?? 'dist/index.js')
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing`)
  return { entry, version: pkg.version }
}

async function shot(name, opts = {}) {
  // Let transitions end and the last flush reach a frame before the capture.
  await page.waitForFunction(
    () => document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity),
    null,
    { timeout: sec(5) },
  )
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), ...opts })
}

/** data-stream and message of the log rows in the DOM (the visible window). */
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

async function teardown() {
  if (browser) await browser.close().catch((e) => console.log(`browser close: ${e.message}`))
  if (server) await stopMcpwatch(server, run.failed)
  // mcpwatch stops its children on SIGTERM; a process carrying this run's mark is ours.
  if (dir) {
    killLeftovers(pidsWithEnv(RUN_MARK, dir), 'MCP server process(es)', notes)
    if (run.failed || process.env.E2E_KEEP) console.log(`temp dir kept: ${dir}`)
    else fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function main() {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  for (const f of fs.readdirSync(SCREENSHOTS)) if (f.startsWith('failure-mcp-')) fs.rmSync(path.join(SCREENSHOTS, f))
  dir = tempDir('mcpwatch-e2e-mcp-')

  await step('start mcpwatch --headless (server-everything over stdio, autoStart) and chromium', async () => {
    const { entry, version } = everythingEntry()
    notes.push(`server-everything ${version}: node ${path.relative(ROOT, entry)} stdio`)
    const config = {
      servers: [
        {
          id: SERVER_ID,
          name: SERVER_NAME,
          command: 'node',
          args: [entry, 'stdio'],
          env: { [RUN_MARK]: dir },
          cwd: '',
          transport: 'stdio',
          autoStart: true,
          restart: { policy: 'never', maxRetries: 0, backoffMs: 1000 },
          tags: ['e2e'],
        },
      ],
      settings: {},
    }
    ;[server, browser] = await Promise.all([startMcpwatch(dir, { config }), launchChromium()])
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' })
    page = await context.newPage()
    page.setDefaultTimeout(sec(20))
    watchConsole(page, consoleErrors)
  })

  await step('Tools tab: healthy, with the server name', async () => {
    await page.goto(`${server.base}/#token=${server.token}`)
    await page.locator('[data-testid="connection-indicator"][data-state="connected"]').waitFor()
    const row = page.locator(`[data-testid="server-row"][data-server-id="${SERVER_ID}"]`)
    await row.waitFor()
    await row.getByTestId('server-name').click()
    await page.waitForURL(new RegExp(`/servers/${SERVER_ID}`))
    await page.locator('[data-testid="status-badge"][data-status="running"]').waitFor()
    await tid('tab-tools').click()
    await page.waitForURL(/tab=tools/)
    const t0 = Date.now()
    await page.locator('[data-testid="mcp-health"][data-healthy="true"]').waitFor({ timeout: sec(30) })
    if ((await text(tid('mcp-health'))) !== 'healthy') throw new Error(`mcp-health says "${await text(tid('mcp-health'))}"`)
    const info = (await text(tid('mcp-server-info'))).replace(/\s+/g, ' ')
    if (!info.includes(MCP_TITLE)) throw new Error(`the server info shows "${info}", not ${MCP_TITLE}`)
    const name = await text(tid('mcp-server-name'))
    if (name !== MCP_NAME) throw new Error(`the server name shows "${name}", not ${MCP_NAME}`)
    // …and it is the server's own answer to initialize, as the REST API has it.
    const view = await server.api(`servers/${SERVER_ID}/mcp`)
    if (view.serverInfo?.name !== MCP_NAME) throw new Error(`REST serverInfo.name is ${JSON.stringify(view.serverInfo?.name)}`)
    if (!view.health?.healthy) throw new Error(`REST health: ${JSON.stringify(view.health)}`)
    notes.push(`healthy after ${Date.now() - t0} ms on the tab; shown: "${info}"; latency ${view.health.latencyMs} ms`)
  })

  await step('Tools tab lists the tools, echo among them', async () => {
    const names = await waitUntil(
      async () => {
        const n = await tid('tool-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tool')))
        return n.includes('echo') && n
      },
      'a tool row for echo',
    )
    const view = await server.api(`servers/${SERVER_ID}/mcp`)
    const want = view.tools.map((t) => t.name)
    if (JSON.stringify(names) !== JSON.stringify(want)) throw new Error(`the tab lists ${names.join(', ')}; REST lists ${want.join(', ')}`)
    notes.push(`${names.length} tools listed: ${names.join(', ')}`)
  })

  await step('call echo from the form: the result is shown', async () => {
    const echo = page.locator('[data-testid="tool-row"][data-tool="echo"]')
    await echo.getByTestId('tool-call-button').click()
    const input = echo.getByTestId('tool-arg-message')
    await input.fill(ECHO_MESSAGE)
    const t0 = Date.now()
    await echo.getByTestId('tool-call-submit').click()
    const result = echo.getByTestId('tool-result')
    await result.waitFor()
    const got = await text(result)
    if (got !== `Echo: ${ECHO_MESSAGE}`) throw new Error(`the result shows "${got}"`)
    if ((await result.getAttribute('data-error')) !== 'false') throw new Error('the result is flagged as an error')
    notes.push(`echo answered in ${Date.now() - t0} ms: "${got}"`)
  })

  await step('screenshot: Tools tab (light)', async () => {
    await page.mouse.move(0, 0) // no hover state on the button just clicked
    await shot('tools-light', { fullPage: true })
  })

  await step('screenshot: Tools tab (dark)', async () => {
    await tid('theme-toggle').click()
    await page.locator('html.dark').waitFor({ state: 'attached' })
    await shot('tools-dark', { fullPage: true })
    await tid('theme-toggle').click()
    await page.locator('html:not(.dark)').waitFor({ state: 'attached' })
  })

  await step('Logs tab: protocol traffic hidden by default', async () => {
    // The handshake, the tool list requests and the echo call are stored as stream "protocol"…
    const stored = await waitUntil(
      async () => {
        // (the REST stream filter takes stdout, stderr and system only: filter here)
        const all = (await server.api(`servers/${SERVER_ID}/logs?limit=5000`)).entries
        const e = all.filter((x) => x.metadata?.stream === 'protocol')
        return e.some((x) => x.message.includes(ECHO_MESSAGE)) && e
      },
      'the echo call among the stored protocol entries',
    )
    await tid('tab-logs').click()
    await page.waitForURL(/tab=logs/)
    const toggle = tid('log-protocol-toggle')
    await toggle.waitFor()
    if (await toggle.locator('input[type="checkbox"]').isChecked()) throw new Error('MCP protocol is ticked by default')
    // …but the tab shows none of them: it holds exactly the stored entries of the other streams
    // (the server's stderr, system lines), which come in the same replayed tail.
    let others = 0
    const rows = await waitUntil(
      async () => {
        const all = (await server.api(`servers/${SERVER_ID}/logs?limit=5000`)).entries
        others = all.filter((x) => x.metadata?.stream !== 'protocol').length
        const count = Number(await tid('log-list').getAttribute('data-count'))
        const r = await visibleRows()
        return others > 0 && count === others && r.length === count && r
      },
      'the tab to hold every stored entry but the protocol ones',
    )
    const proto = rows.filter((r) => r.stream === 'protocol' || /^[→←] /.test(r.msg))
    if (proto.length) throw new Error(`protocol rows shown with the toggle off: ${JSON.stringify(proto.slice(0, 3))}`)
    notes.push(`toggle off: ${rows.length} rows (${[...new Set(rows.map((r) => r.stream))].join(', ')}), no protocol rows; ${stored.length} protocol entries stored`)
    await shot('tools-logs-protocol-off')
  })

  await step('Logs tab: MCP protocol on shows → / ← JSON-RPC lines', async () => {
    await tid('log-protocol-toggle').click()
    const rows = await waitUntil(
      async () => {
        const r = (await visibleRows()).filter((x) => x.stream === 'protocol')
        return r.some((x) => x.msg.startsWith('→ ')) && r.some((x) => x.msg.startsWith('← ')) && r
      },
      'protocol rows in both directions',
    )
    for (const r of rows) {
      const m = /^([→←]) (.*)$/s.exec(r.msg)
      if (!m) throw new Error(`protocol row ${r.seq} has no arrow: ${r.msg.slice(0, 120)}`)
      let j
      try {
        j = JSON.parse(m[2])
      } catch {
        throw new Error(`protocol row ${r.seq} is not JSON: ${r.msg.slice(0, 120)}`)
      }
      const msgs = Array.isArray(j) ? j : [j]
      if (!msgs.every((x) => x?.jsonrpc === '2.0')) throw new Error(`protocol row ${r.seq} is not JSON-RPC 2.0: ${r.msg.slice(0, 120)}`)
    }
    const out = rows.filter((r) => r.msg.startsWith('→ '))
    const inn = rows.filter((r) => r.msg.startsWith('← '))
    // The echo call itself, sent and answered, if the shown window reaches back to it (the probe's
    // pings come after it); else the newest pair is enough.
    const call = out.find((r) => r.msg.includes('"tools/call"') && r.msg.includes(ECHO_MESSAGE))
    const answer = inn.find((r) => r.msg.includes(`Echo: ${ECHO_MESSAGE}`))
    notes.push(
      `toggle on: ${out.length} → and ${inn.length} ← rows shown` +
        (call && answer ? `, the echo tools/call (seq ${call.seq}) and its answer (seq ${answer.seq}) among them` : ''),
    )
    await shot('tools-logs-protocol-on')
    // Off again: they go.
    await tid('log-protocol-toggle').click()
    await waitUntil(async () => {
      const r = await visibleRows()
      return r.length > 0 && !r.some((x) => x.stream === 'protocol')
    }, 'protocol rows gone with the toggle off')
  })

  await step('no console errors', async () => {
    if (consoleErrors.length) throw new Error(`${consoleErrors.length} console error(s):\n${consoleErrors.join('\n')}`)
  })
}

await run.finish({ main, teardown, deadline: TOTAL_DEADLINE })

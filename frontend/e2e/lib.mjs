// Helpers of the end-to-end tests: a real `mcpwatch --headless` on a free port with a temporary
// config and data dir, Debian's chromium driven by playwright-core, and deadline-bound polling.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const FRONTEND = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const ROOT = path.resolve(FRONTEND, '..')
export const SCREENSHOTS = path.join(FRONTEND, 'e2e', 'screenshots')

/** Multiplies every deadline (E2E_SLOW=2 on a very slow machine). */
const SLOW = Number(process.env.E2E_SLOW) > 0 ? Number(process.env.E2E_SLOW) : 1

export function sec(s) {
  return s * 1000 * SLOW
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Calls fn until it returns a truthy value (returned) or the deadline passes (throws, with the last
 * value or error seen). The interval only paces the checks: nothing waits a fixed time.
 */
export async function waitUntil(fn, what, { timeout = sec(15), interval = 100 } = {}) {
  const deadline = Date.now() + timeout
  let last
  let lastErr
  for (;;) {
    try {
      last = await fn()
      lastErr = undefined
      if (last) return last
    } catch (e) {
      lastErr = e
    }
    if (Date.now() >= deadline) {
      const seen = lastErr ? `last error: ${lastErr.message}` : `last value: ${JSON.stringify(last)}`
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (${seen})`)
    }
    await new Promise((r) => setTimeout(r, interval))
  }
}

/** A temporary directory, removed by cleanup(). */
export function tempDir(prefix = 'mcpwatch-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/**
 * The test child: MCPWATCH_TESTCHILD if set, else built with `go build`. It is copied into dir so
 * that its path is unique to this run: teardown can then find any process still running it.
 */
export function prepareTestChild(dir) {
  const dst = path.join(dir, 'testchild')
  const src = process.env.MCPWATCH_TESTCHILD
  if (src) fs.copyFileSync(src, dst)
  else execFileSync('go', ['build', '-o', dst, './backend/internal/testchild'], { cwd: ROOT, stdio: 'inherit' })
  fs.chmodSync(dst, 0o755)
  return dst
}

/** Pids of the processes whose executable is exe (Linux /proc). */
export function pidsOf(exe) {
  const out = []
  let entries = []
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return out
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    try {
      if (fs.readlinkSync(`/proc/${e}/exe`) === exe) out.push(Number(e))
    } catch {
      /* gone or not ours */
    }
  }
  return out
}

/**
 * Pids of the processes whose environment holds name=value (Linux /proc): how a test finds the
 * children it had mcpwatch start (e.g. `node` running an MCP server) by a marker unique to the run.
 */
export function pidsWithEnv(name, value) {
  const want = `${name}=${value}`
  const out = []
  let entries = []
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return out
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    try {
      if (fs.readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(want)) out.push(Number(e))
    } catch {
      /* gone or not ours */
    }
  }
  return out
}

/**
 * Starts `mcpwatch --headless` on a free port with a config and data dir under dir and resolves
 * once it printed its listening line. Its stdout and stderr are kept for diagnostics.
 * opts.config: the config.json to start with (default: no servers).
 */
export async function startMcpwatch(dir, opts = {}) {
  const bin = process.env.MCPWATCH_BIN || path.join(ROOT, 'build', 'bin', 'mcpwatch-headless')
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make build (or set MCPWATCH_BIN)`)
  const token = randomBytes(16).toString('hex')
  const config = path.join(dir, 'config.json')
  const dataDir = path.join(dir, 'data')
  fs.mkdirSync(dataDir, { recursive: true })
  fs.writeFileSync(config, JSON.stringify(opts.config ?? { servers: [] }, null, 2))

  let output = ''
  let child
  let port
  let exited = null
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    output = ''
    exited = null
    child = spawn(bin, ['--headless', '--config', config, '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port)], {
      env: { ...process.env, MCPWATCH_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const onData = (b) => {
      output += b.toString()
      if (output.length > 2_000_000) output = output.slice(-1_000_000)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code, signal) => (exited = { code, signal }))
    child.on('error', (e) => (exited = { error: e.message }))
    try {
      await waitUntil(() => exited || /mcpwatch: listening on http:\/\/\S+/.test(output), 'the listening line', { timeout: sec(20), interval: 50 })
    } catch (e) {
      child.kill('SIGKILL')
      throw new Error(`${e.message}\n--- mcpwatch output ---\n${output}`)
    }
    if (!exited) break
    // exit 2 with the port taken between freePort() and the bind: try another port.
    if (attempt >= 3 || !/port|address already in use/i.test(output)) {
      throw new Error(`mcpwatch exited at start (${JSON.stringify(exited)})\n--- mcpwatch output ---\n${output}`)
    }
  }

  const base = `http://127.0.0.1:${port}`
  const server = {
    base,
    port,
    token,
    pid: child.pid,
    /** everything mcpwatch wrote on stdout and stderr so far */
    output: () => output,
    exited: () => exited,
    /** GET/POST … /api/v1/<p> with the token */
    async api(p, init = {}) {
      const res = await fetch(`${base}/api/v1/${p}`, {
        ...init,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) },
      })
      const text = await res.text()
      if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${p}: ${res.status} ${text}`)
      return text ? JSON.parse(text) : null
    },
    /** SIGTERM, then SIGKILL after 10 s; resolves when it is gone. */
    async stop() {
      if (exited) return exited
      child.kill('SIGTERM')
      try {
        await waitUntil(() => exited, 'mcpwatch to exit after SIGTERM', { timeout: 10_000, interval: 50 })
      } catch {
        child.kill('SIGKILL')
        await waitUntil(() => exited, 'mcpwatch to exit after SIGKILL', { timeout: 5_000, interval: 50 }).catch(() => {})
      }
      return exited
    },
  }
  // Last resort if this process dies without running its teardown.
  process.once('exit', () => {
    if (!exited) child.kill('SIGKILL')
  })
  return server
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Debian's chromium (never a downloaded one). */
export async function launchChromium() {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
  if (!fs.existsSync(executablePath)) throw new Error(`${executablePath} is missing: build/scripts/apt-install.sh chromium`)
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: sec(60) })
}

/** Collects console errors and uncaught page errors of a page. */
export function watchConsole(page, sink) {
  page.on('console', (m) => {
    if (m.type() === 'error') {
      const loc = m.location()
      sink.push(`console.error: ${m.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`)
    }
  })
  page.on('pageerror', (e) => sink.push(`pageerror: ${e.message}`))
  page.on('crash', () => sink.push('page crashed'))
}

/**
 * One end-to-end run: its steps (skipped once one has failed), notes, console errors, and the
 * closing summary line `E2E PASS: n/n` or `E2E FAIL: …` with the exit code.
 * failurePrefix names the screenshot taken of the page when a step fails.
 */
export function createRun({ failurePrefix, page }) {
  const run = {
    started: Date.now(),
    results: [], // { name, ms, ok, skipped, error }
    consoleErrors: [],
    notes: [],
    failed: false,
  }
  run.step = async (name, fn) => {
    if (run.failed) {
      run.results.push({ name, ms: 0, ok: false, skipped: true })
      console.log(`- ${name} (skipped: an earlier step failed)`)
      return
    }
    const t0 = Date.now()
    try {
      await fn()
      const ms = Date.now() - t0
      run.results.push({ name, ms, ok: true })
      console.log(`✔ ${name} (${secs(ms)})`)
    } catch (e) {
      const ms = Date.now() - t0
      run.failed = true
      run.results.push({ name, ms, ok: false, error: e })
      console.log(`✖ ${name} (${secs(ms)})\n  ${String(e?.stack ?? e).split('\n').join('\n  ')}`)
      const p = page()
      if (p) {
        const file = path.join(SCREENSHOTS, `${failurePrefix}${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`)
        await p.screenshot({ path: file, fullPage: true }).then(
          () => console.log(`  screenshot of the failure: ${path.relative(process.cwd(), file)}`),
          () => {},
        )
      }
    }
  }
  /** Runs main, always runs teardown (also when the whole run overruns deadline), and reports. */
  run.finish = async ({ main, teardown, deadline }) => {
    const watchdog = setTimeout(() => {
      console.log(`✖ the whole run took over ${secs(deadline)}: giving up`)
      run.failed = true
      teardown().finally(() => {
        console.log('E2E FAIL: timed out')
        process.exit(1)
      })
    }, deadline)
    try {
      await main()
    } catch (e) {
      run.failed = true
      console.log(`✖ ${e?.stack ?? e}`)
    } finally {
      await teardown().catch((e) => {
        run.failed = true
        console.log(`✖ teardown: ${e?.stack ?? e}`)
      })
      clearTimeout(watchdog)
    }
    for (const n of run.notes) console.log(`  · ${n}`)
    if (run.consoleErrors.length && !run.results.some((r) => r.name === 'no console errors' && !r.ok && !r.skipped)) {
      for (const e of run.consoleErrors) console.log(`  console: ${e}`)
    }
    const passed = run.results.filter((r) => r.ok).length
    const failedSteps = run.results.filter((r) => !r.ok && !r.skipped)
    const skipped = run.results.filter((r) => r.skipped).length
    const total = secs(Date.now() - run.started)
    if (run.failed || failedSteps.length) {
      console.log(`E2E FAIL: ${failedSteps.map((r) => `"${r.name}"`).join(', ') || 'setup/teardown'} failed; ${passed} passed, ${skipped} skipped, in ${total}`)
      process.exitCode = 1
    } else {
      console.log(`E2E PASS: ${passed}/${run.results.length} steps in ${total}`)
    }
  }
  return run
}

/** A duration for people: "1.2 s". */
export function secs(ms) {
  return (ms / 1000).toFixed(1) + ' s'
}

/** Stops mcpwatch; after a failed run, prints the end of its output for diagnosis. */
export async function stopMcpwatch(server, failed) {
  const ex = await server.stop()
  if (!failed) return
  const out = server.output().trimEnd().split('\n')
  console.log(`--- mcpwatch output (last ${Math.min(80, out.length)} of ${out.length} lines; exit ${JSON.stringify(ex)}) ---`)
  console.log(out.slice(-80).join('\n'))
  console.log('--- end of mcpwatch output ---')
}

/** SIGKILLs processes mcpwatch should have stopped and notes them; returns how many there were. */
export function killLeftovers(pids, what, notes) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      /* gone */
    }
  }
  if (pids.length) notes.push(`killed ${pids.length} ${what} left running after mcpwatch stopped: ${pids.join(', ')}`)
  return pids.length
}

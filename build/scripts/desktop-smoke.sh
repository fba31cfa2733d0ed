#!/usr/bin/env bash
# Real-window smoke test of the desktop binary (make test-desktop).
#
#   desktop-smoke.sh BINARY OUTDIR
#
# 1. Under Xvfb, the app runs with a config holding one real child (autoStart) and its self-test
#    on (MCPWATCH_SELFTEST): the window loads the UI, subscribes over the Wails bridge, gets a
#    process:info and a live log line of the child, calls a bound method, and the HTTP side
#    answers /api/v1/health. The app writes OUTDIR/desktop-smoke.json; this script then takes a
#    screenshot (OUTDIR/desktop-smoke.png), sends SIGTERM and checks that the app exits 0 and
#    that the child is gone.
# 2. A corrupt config: the desktop shows an error window, leaves the file untouched and exits 2
#    on SIGTERM; headless exits 2 at once.
# 3. No display: the desktop binary runs headless (a note on stderr) and stops on SIGTERM.
# Every wait has a deadline; the script fails on the first failed check.
set -euo pipefail

if [[ "${1:-}" == "--inner" ]]; then
  shift
  inner=1
else
  inner=0
fi
bin=$(realpath "$1")
out=$(realpath -m "$2")
mkdir -p "$out"

fail() { echo "desktop-smoke: FAIL: $*" >&2; exit 1; }
note() { echo "desktop-smoke: $*"; }

# wait_until DEADLINE_SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_until() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}

# dead PID: gone, or a zombie waiting to be reaped.
dead() {
  kill -0 "$1" 2>/dev/null || return 0
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]]
}
port_free() { ! (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# wait_exit PID SECONDS: waits for a child of this shell; its exit status goes to $rc.
wait_exit() {
  local pid=$1 secs=$2
  if ! wait_until "$secs" "exit" dead "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rc=timeout
    return
  fi
  rc=0
  wait "$pid" || rc=$?
}

if ((inner == 0)); then
  # Outside: start a private X server for the inner part (-a: a free display number).
  command -v xvfb-run >/dev/null || fail "xvfb-run is missing (apt: xvfb xauth)"
  exec xvfb-run -a -s "-screen 0 1440x900x24 -nolisten tcp" "$0" --inner "$bin" "$out"
fi

[[ -n "${DISPLAY:-}" ]] || fail "no DISPLAY inside xvfb-run"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

port=$((20000 + RANDOM % 20000))
for _ in 1 2 3 4 5 6 7 8; do port_free "$port" && break; port=$((20000 + RANDOM % 20000)); done

cat >"$work/config.json" <<EOF
{"servers":[{"id":"ticker","name":"Smoke Ticker","command":"sh",
  "args":["-c","while true; do echo INFO tick; sleep 0.2; done"],
  "transport":"stdio","autoStart":true,"restart":{"policy":"never","maxRetries":0,"backoffMs":1000}}],
 "settings":{"port":$port}}
EOF

# ---- 1. the window, its self-test, a screenshot, a clean stop -----------------------------
result="$out/desktop-smoke.json"
shot="$out/desktop-smoke.png"
# Old outputs go first: a background job opens its redirections only once it runs.
rm -f "$result" "$shot" "$out"/desktop-smoke.log "$out"/desktop-corrupt.png "$out"/corrupt-*.log "$out"/nodisplay.*
t0=$SECONDS
XDG_CONFIG_HOME="$work/xdg-config" XDG_STATE_HOME="$work/xdg-state" \
  MCPWATCH_SELFTEST="$result" MCPWATCH_SELFTEST_HOLD=60s MCPWATCH_TOKEN=smoke-token-0123456789 \
  "$bin" --config "$work/config.json" --data-dir "$work/data" >"$out/desktop-smoke.log" 2>&1 &
app=$!
has_result() { [[ -s "$result" ]] || dead "$app"; }
wait_until 90 "the self-test result" has_result || { kill -TERM "$app" 2>/dev/null || true; fail "no self-test result within 90 s (log: $out/desktop-smoke.log)"; }
[[ -s "$result" ]] || fail "the app ended without a self-test result: $(tail -20 "$out/desktop-smoke.log")"
note "self-test result after $((SECONDS - t0)) s: $result"
import -window root "$shot" || fail "screenshot failed"
note "screenshot: $shot"
kill -TERM "$app"
wait_exit "$app" 30
[[ "$rc" == 0 ]] || fail "the app did not exit 0 after SIGTERM (status $rc): $(tail -20 "$out/desktop-smoke.log")"
ok=$(grep -m1 -o '"ok": [a-z]*' "$result" | awk '{print $2}')
pid=$(grep -m1 -o '"pid": [0-9]*' "$result" | awk '{print $2}')
if [[ "$ok" != true ]]; then
  cat "$result" >&2
  fail "self-test checks failed (above)"
fi
[[ -n "$pid" ]] || fail "no child pid in the result"
wait_until 10 "the child to be gone" dead "$pid" || fail "child $pid still runs after the app exited"
note "window checks passed; child $pid stopped with the app"

# ---- 2. a corrupt configuration -------------------------------------------------------------
printf '{"servers": [ {"id": "broken",\n' >"$work/bad.json"
sum_before=$(sha256sum <"$work/bad.json")
rc=0
XDG_CONFIG_HOME="$work/xdg-config" "$bin" --headless --config "$work/bad.json" --data-dir "$work/data" >"$out/corrupt-headless.log" 2>&1 || rc=$?
[[ "$rc" == 2 ]] || fail "headless with a corrupt config: exit $rc, want 2"
XDG_CONFIG_HOME="$work/xdg-config" "$bin" --config "$work/bad.json" --data-dir "$work/data" >"$out/corrupt-desktop.log" 2>&1 &
app=$!
said() { grep -q "the window shows" "$out/corrupt-desktop.log" || dead "$app"; }
wait_until 60 "the error window" said || fail "the configuration error window did not show"
grep -q "the window shows \"MCP Watch cannot read its configuration\"" "$out/corrupt-desktop.log" || fail "the window does not show the error: $(tail -3 "$out/corrupt-desktop.log")"
grep -q "read configuration" "$out/corrupt-desktop.log" || fail "no reason on stderr"
import -window root "$out/desktop-corrupt.png" || fail "screenshot failed"
kill -TERM "$app" 2>/dev/null || true
wait_exit "$app" 30
[[ "$rc" == 2 ]] || fail "desktop with a corrupt config: exit $rc, want 2 ($(tail -5 "$out/corrupt-desktop.log"))"
[[ "$(sha256sum <"$work/bad.json")" == "$sum_before" ]] || fail "the corrupt config file was changed"
note "corrupt config: error shown, file untouched, exit 2"

# ---- 3. no display → headless --------------------------------------------------------------
env -u DISPLAY -u WAYLAND_DISPLAY XDG_CONFIG_HOME="$work/xdg-config" MCPWATCH_TOKEN=smoke-token-0123456789 \
  "$bin" --config "$work/config.json" --data-dir "$work/data2" --port "$port" >"$out/nodisplay.out" 2>"$out/nodisplay.err" &
app=$!
listening() { grep -q "listening on" "$out/nodisplay.out" || dead "$app"; }
wait_until 30 "listening" listening || fail "headless fallback did not start listening"
grep -q "no display" "$out/nodisplay.err" || fail "no note about the missing display on stderr"
kill -TERM "$app" 2>/dev/null || true
wait_exit "$app" 30
[[ "$rc" == 0 ]] || fail "headless fallback: exit $rc, want 0 ($(tail -5 "$out/nodisplay.err"))"
note "no display: headless with a note, clean stop"
note "all checks passed in $((SECONDS - t0)) s"

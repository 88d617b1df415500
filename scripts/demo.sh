#!/usr/bin/env bash
# Set up (first run), start hodeid with its embedded PostgreSQL and one worker, run a demo
# job and show its output. With a terminal attached the system keeps running afterwards.
# If a step fails, what this script started is stopped (by PID) and one line says which step
# failed and where its log is. HODEI_DEMO_DIR: where the logs go (default .hodei/).
set -euo pipefail
source "$(dirname "$0")/env.sh"
addr=${HODEI_ADDR:-127.0.0.1:50051}
export HODEI_ADDR=$addr
run=${HODEI_DEMO_DIR:-$repo/.hodei}
mkdir -p "$run"
cli_log=$run/hodei.log
: >"$cli_log"
started=()
step=
step_log=

# What is being done, and the log that tells more if it fails.
doing() { step=$1; step_log=$2; }

stop_all() {
  local pid
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # hodeid stops its embedded PostgreSQL on the way out: wait for that, up to 15 s.
  for _ in $(seq 1 150); do
    alive=0
    for pid in "${started[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${started[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  started=()
}

failed() {
  local code=$?
  trap - ERR INT TERM
  stop_all
  local said=
  if [ "$step_log" = "$cli_log" ] && [ -s "$cli_log" ]; then said=": $(tail -n 1 "$cli_log")"; fi
  echo "demo.sh: $step failed (exit $code)$said; log: $step_log" >&2
  exit 1
}
trap failed ERR
trap 'trap - ERR INT TERM; stop_all; echo "demo.sh: interrupted; stopped what it started" >&2; exit 130' INT TERM

listening() {
  python - "$addr" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
sys.exit(socket.socket().connect_ex((host, int(port))) != 0)
EOF
}

if listening; then
  echo "== using the hodeid already listening on $addr"
else
  doing "starting hodeid on $addr" "$run/hodeid.log"
  echo "== starting hodeid on $addr (log: $run/hodeid.log)"
  setsid hodeid --listen "$addr" >"$run/hodeid.log" 2>&1 &
  started+=($!)
  for _ in $(seq 1 300); do
    listening && break
    kill -0 "${started[0]}" 2>/dev/null || false
    sleep 0.1
  done
  listening
  grep -m1 "embedded PostgreSQL in" "$run/hodeid.log" | sed 's/^.*INFO *hodeid: /   /' || true
fi

doing "asking hodeid for its workers (hodei worker list)" "$cli_log"
workers=$(hodei worker list -o json 2>>"$cli_log")
if [ "$workers" != "[]" ]; then
  echo "== a worker is already connected"
else
  doing "starting hodei-worker" "$run/worker.log"
  echo "== starting hodei-worker with 4 slots (log: $run/worker.log)"
  setsid hodei-worker --server "$addr" --slots 4 --label demo=true >"$run/worker.log" 2>&1 &
  started+=($!)
fi

doing "the demo job (hodei job run)" "$run/hodeid.log"
echo "== hodei job run -- sh -c '...'"
hodei job run --name demo -- sh -c 'echo "hello from hodei on $(hostname)"; for i in 1 2 3; do echo "step $i"; sleep 0.2; done; echo "a line on stderr" >&2'
echo "== exit code: 0"
doing "listing jobs and workers" "$cli_log"
echo "== hodei job list"
hodei job list --limit 5 2>>"$cli_log"
echo "== hodei worker list"
hodei worker list 2>>"$cli_log"
trap - ERR

if [ -t 0 ] && [ ${#started[@]} -gt 0 ]; then
  echo
  echo "hodeid and the worker keep running (PIDs ${started[*]}); try:"
  echo "  source $venv/bin/activate && hodei job run -- uname -a"
  echo "stop them with: kill ${started[*]}"
else
  stop_all
fi

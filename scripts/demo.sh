#!/usr/bin/env bash
# Set up (first run), start hodeid with its embedded PostgreSQL and one worker, run a demo
# job and show its output. With a terminal attached the system keeps running afterwards.
set -euo pipefail
source "$(dirname "$0")/env.sh"
addr=${HODEI_ADDR:-127.0.0.1:50051}
export HODEI_ADDR=$addr
run=$repo/.hodei
mkdir -p "$run"
started=()

listening() { python -c "import socket,sys; h,p='$addr'.rsplit(':',1); sys.exit(socket.socket().connect_ex((h,int(p))))"; }
stop_all() { for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done; }

if listening; then
  echo "== using the hodeid already listening on $addr"
else
  echo "== starting hodeid on $addr (log: $run/hodeid.log)"
  setsid hodeid --listen "$addr" >"$run/hodeid.log" 2>&1 &
  started+=($!)
  for _ in $(seq 1 300); do listening && break; sleep 0.1; done
  listening || { cat "$run/hodeid.log" >&2; stop_all; exit 1; }
  grep -m1 "embedded PostgreSQL in" "$run/hodeid.log" | sed 's/^.*INFO *hodeid: /   /' || true
fi
if [ -n "$(hodei worker list -o json | python -c 'import json,sys; print(json.load(sys.stdin) or "")')" ]; then
  echo "== a worker is already connected"
else
  echo "== starting hodei-worker with 4 slots (log: $run/worker.log)"
  setsid hodei-worker --server "$addr" --slots 4 --label demo=true >"$run/worker.log" 2>&1 &
  started+=($!)
fi

echo "== hodei job run -- sh -c '...'"
hodei job run --name demo -- sh -c 'echo "hello from hodei on $(hostname)"; for i in 1 2 3; do echo "step $i"; sleep 0.2; done; echo "a line on stderr" >&2'
echo "== exit code: $?"
echo "== hodei job list"
hodei job list --limit 5
echo "== hodei worker list"
hodei worker list

if [ -t 0 ] && [ ${#started[@]} -gt 0 ]; then
  echo
  echo "hodeid and the worker keep running (PIDs ${started[*]}); try:"
  echo "  source $venv/bin/activate && hodei job run -- uname -a"
  echo "stop them with: kill ${started[*]}"
else
  stop_all
fi

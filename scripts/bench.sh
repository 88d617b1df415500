#!/usr/bin/env bash
# Run every benchmark in scripts/bench/ once, at a small size (a few minutes in all); each
# prints its own figures, and one that needs hodeid starts it with a worker on an embedded
# PostgreSQL of its own, so runs do not see each other's jobs. The full-size commands are in the
# README. A bench script not listed here fails the run, so none is forgotten; one that fails is
# named at the end, after the others have run. The modules they share (system.py, figures.py) are
# the files in scripts/bench/ that do not run as a program.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo"
declare -A small=(
  [backlog]="--backlog 2000 --n 200 --probes 20 --idle 3"
  [cli_start]="--runs 10"
  [failover]="--n 3"
  [idle_workers]="--workers 50 --seconds 5"
  [console_log]="--lines 100000"
  [cross_daemon_logs]="--lines 50"
  [dependents]="--n 500"
  [log_throughput]="--lines 100000 --runs 2 --followers 3 --follow-runs 1"
  [log_followers]="--mib 8 --stalled 4 --readers 4 --seconds 5 --timeout 60"
  [loglines]="--total 20000"
  [placement]="--runs 200"
  [schedule_lag]="--runs 5 --schedules 3"
  [submit]="--n 300"
  [throughput]="--n 300 --spawn"
)
scripts=()
for script in scripts/bench/*.py; do
  grep -q '^if __name__ == "__main__":' "$script" || continue
  if [ -z "${small[$(basename "$script" .py)]+set}" ]; then
    echo "scripts/bench.sh: $script has no small run; add it to the list in scripts/bench.sh" >&2
    exit 1
  fi
  scripts+=("$script")
done
failed=()
for script in "${scripts[@]}"; do
  name=$(basename "$script" .py)
  echo "== python $script ${small[$name]}"
  # One that fails does not keep the others from printing their figures.
  # shellcheck disable=SC2086  # the arguments are words
  python "$script" ${small[$name]} || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "scripts/bench.sh: these benchmarks failed: ${failed[*]}" >&2
  exit 1
fi

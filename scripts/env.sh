# Sourced by the other scripts: the virtual environment, created and filled on first use.
# The install says what it is doing on stderr and keeps pip's and setuptools' own output in
# $venv/hodei-install.log; if it fails, the end of that log is shown.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${HODEI_VENV:-$repo/.venv}
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "hodei needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
stamp="$venv/.hodei-installed"

# Run "$@" with its output in the install log, saying every 10 s that it is still at it;
# on failure show the log's last lines and stop the script that sourced this file.
hodei_setup_step() {
  local what=$1 log="$venv/hodei-install.log" started=$SECONDS
  shift
  echo "hodei: $what ..." >&2
  echo "== $what: $*" >>"$log"
  local from
  from=$(wc -l <"$log")
  "$@" >>"$log" 2>&1 &
  local pid=$! code=0 next=10 state
  # A background command ignores Ctrl-C in a script: end it with the script.
  trap 'kill "$pid" 2>/dev/null; echo "hodei: $what interrupted" >&2; exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    if ((SECONDS - started >= next)) && kill -0 "$pid" 2>/dev/null; then
      if tail -n +"$((from + 1))" "$log" | grep -q '^Installing collected packages'; then
        state="installing the packages"
      else
        state="$(tail -n +"$((from + 1))" "$log" | grep -c '^Collecting ' || true) packages found"
      fi
      echo "hodei:   ... $((SECONDS - started)) s: $state" >&2
      next=$((next + 10))
    fi
  done
  wait "$pid" || code=$?
  trap - INT TERM
  if [ "$code" != 0 ]; then
    echo "hodei: $what failed (exit $code); the end of $log:" >&2
    tail -n 25 "$log" | sed 's/^/  /' >&2
    exit 1
  fi
}

if [ ! -x "$venv/bin/python" ]; then
  echo "hodei: first run: setting up $venv (a minute or so; details in $venv/hodei-install.log)" >&2
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" || { echo "hodei: cannot create the virtual environment $venv" >&2; exit 1; }
fi
if [ ! -f "$stamp" ] || [ "$repo/pyproject.toml" -nt "$stamp" ] || [ "$repo/scripts/env.sh" -nt "$stamp" ]; then
  : >"$venv/hodei-install.log"
  hodei_setup_step "upgrading pip" "$venv/bin/python" -m pip install --upgrade pip
  # "compat" puts the checkout on sys.path with a plain .pth line; setuptools' default mode
  # installs an import hook instead, whose own imports cost every Python started from the venv
  # (hodei, hodeid, each worker and test process) about 15 ms.
  hodei_setup_step "installing hodei and its dependencies into $venv" \
    "$venv/bin/python" -m pip install --progress-bar off -e "$repo[dev]" --config-settings editable_mode=compat
  touch "$stamp"
  echo "hodei: $venv is ready" >&2
fi
unset -f hodei_setup_step
export PATH="$venv/bin:$PATH"
cd "$repo"

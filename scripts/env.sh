# Sourced by the other scripts: the virtual environment, created and filled on first use.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${HODEI_VENV:-$repo/.venv}
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "hodei needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
stamp="$venv/.hodei-installed"
if [ ! -x "$venv/bin/python" ]; then
  echo "setting up $venv ..." >&2
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$repo/pyproject.toml" -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet -e "$repo[dev]" >&2
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$repo"

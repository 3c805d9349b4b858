#!/usr/bin/env bash
# Set up everything rdeploy-tui needs on a fresh Debian/Ubuntu machine, then run the tool or the tests.
#   bash dev.sh run [ARGS]   the wizard (on the built-in sandbox when no Azure sign-in is at hand)
#   bash dev.sh test [ARGS]  the whole test suite (pytest ARGS)
#   bash dev.sh bench        the benchmarks
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
APT_PACKAGES=(r-base-core r-cran-plumber r-cran-jsonlite r-cran-codetools tmux)

need_apt() {
  command -v Rscript >/dev/null 2>&1 || return 0
  Rscript -e 'for (p in c("plumber", "jsonlite", "codetools")) invisible(loadNamespace(p))' >/dev/null 2>&1 || return 0
  command -v tmux >/dev/null 2>&1 || return 0
  return 1
}

setup_system() {
  need_apt || return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "dev.sh: please install as root: apt-get install --no-install-recommends ${APT_PACKAGES[*]}" >&2
      return 1
    fi
  fi
  echo "dev.sh: installing ${APT_PACKAGES[*]} (R for the local runner and the sandbox, codetools to read a crate's packages, tmux for terminal tests)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
}

setup_python() {
  local python="${PYTHON:-python3}"
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
  # Reinstall only when the dependency list changed.
  local stamp="$VENV/.rdeploy-deps" want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
  fi
  # An editable install leaves the package uncompiled, and with PYTHONDONTWRITEBYTECODE set Python never
  # caches it: compile it here (as a regular pip install would), ~15 ms of the wizard's 0.4 s first paint.
  "$VENV/bin/python" -m compileall -q rdeploy_tui >/dev/null 2>&1 || true
}

azure_at_hand() {
  # A compute instance or a managed identity, explicit credentials, or an az CLI sign-in.
  [ -n "${MSI_ENDPOINT:-}${IDENTITY_ENDPOINT:-}${AZURE_CLIENT_ID:-}" ] && return 0
  command -v az >/dev/null 2>&1 && az account show >/dev/null 2>&1 && return 0
  return 1
}

cmd="${1:-run}"
shift || true
case "$cmd" in
  run)
    setup_system
    setup_python
    if [ $# -eq 0 ] && ! azure_at_hand; then
      echo "dev.sh: no Azure sign-in found; opening the built-in sandbox (sign in with 'az login' to use Azure)" >&2
      set -- --sandbox
    fi
    exec "$VENV/bin/rdeploy-tui" "$@"
    ;;
  test)
    setup_system
    setup_python
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  bench)
    setup_system
    setup_python
    for bench in benchmarks/bench_*.py; do
      echo "== $bench"
      "$VENV/bin/python" "$bench"
    done
    ;;
  *)
    echo "usage: bash dev.sh run [ARGS] | test [PYTEST ARGS] | bench" >&2
    exit 2
    ;;
esac

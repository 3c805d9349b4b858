#!/usr/bin/env bash
# Set up everything rdeploy-tui needs on a fresh Debian/Ubuntu machine, then run the tool or the tests.
#   bash dev.sh run [ARGS]   the wizard (on the built-in sandbox when no Azure sign-in is at hand)
#   bash dev.sh test [ARGS]  the whole test suite (pytest ARGS)
#   bash dev.sh bench        the benchmarks
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
# ranger and yaml: the model kinds' tests (a ranger forest; a vetiver pin's data.txt, which the generated API reads)
APT_PACKAGES=(r-base-core r-cran-plumber r-cran-jsonlite r-cran-codetools r-cran-ranger r-cran-yaml tmux)

need_apt() {
  command -v Rscript >/dev/null 2>&1 || return 0
  Rscript -e 'for (p in c("plumber", "jsonlite", "codetools", "ranger", "yaml")) invisible(loadNamespace(p))' >/dev/null 2>&1 || return 0
  command -v tmux >/dev/null 2>&1 || return 0
  return 1
}

apt_install() {  # apt_install WHY PACKAGE...
  local why="$1" sudo=""
  shift
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "dev.sh: please install as root: apt-get install --no-install-recommends $*" >&2
      return 1
    fi
  fi
  echo "dev.sh: installing $* ($why)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

setup_system() {
  need_apt || return 0
  apt_install "R for the local runner and the sandbox, codetools to read a crate's packages, ranger and yaml for the model kinds' tests, tmux for terminal tests" "${APT_PACKAGES[@]}"
}

# The browser-terminal test (tests/ui/test_browser_terminal.py): Debian's Chromium (driven by Playwright
# from the [test] extra; never a browser download) and xterm.js from npm, installed once into a cache
# folder that later runs reuse. Outside CI a failure here only skips that test (it says why).
BROWSER_TERMINAL_DIR="${RDEPLOY_BROWSER_TERMINAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rdeploy-tui/browser-terminal}"
export RDEPLOY_BROWSER_TERMINAL_DIR="$BROWSER_TERMINAL_DIR"

install_browser_terminal() {
  [ -x /usr/bin/chromium ] || apt_install "headless Chromium for the browser-terminal test" chromium || return 1
  command -v npm >/dev/null 2>&1 || apt_install "npm, to fetch xterm.js" nodejs npm || return 1
  local src=tests/ui/browser-terminal want
  want=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$BROWSER_TERMINAL_DIR/.rdeploy-lock" 2>/dev/null)" != "$want" ] \
     || [ ! -f "$BROWSER_TERMINAL_DIR/node_modules/@xterm/xterm/lib/xterm.js" ]; then
    echo "dev.sh: installing xterm.js into $BROWSER_TERMINAL_DIR (npm ci)" >&2
    mkdir -p "$BROWSER_TERMINAL_DIR"
    cp "$src/package.json" "$src/package-lock.json" "$BROWSER_TERMINAL_DIR/"
    (cd "$BROWSER_TERMINAL_DIR" && npm ci --no-audit --no-fund --silent) || return 1
    echo "$want" > "$BROWSER_TERMINAL_DIR/.rdeploy-lock"
  fi
}

setup_browser_terminal() {
  if ! install_browser_terminal; then
    case "${CI:-}" in
      true|1|yes) echo "dev.sh: the browser terminal could not be installed (CI needs it)" >&2; return 1 ;;
      *) echo "dev.sh: no browser terminal; tests/ui/test_browser_terminal.py will be skipped" >&2 ;;
    esac
  fi
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

# The real Azure CLI, for the tests that run Microsoft's how-to against the sandbox. It lives in its own venv
# (its pins clash with ours) in a cache folder outside the repo, reused while the pinned version is unchanged.
AZ_CLI_VERSION="2.91.*"
AZ_VENV="${RDEPLOY_AZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rdeploy-tui/azure-cli-venv}"
setup_az_cli() {
  local python="${PYTHON:-python3}" stamp="$AZ_VENV/.rdeploy-az-version"
  if [ -x "$AZ_VENV/bin/az" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$AZ_CLI_VERSION" ]; then
    export RDEPLOY_AZ="$AZ_VENV/bin/az"
    return 0
  fi
  echo "dev.sh: installing azure-cli==$AZ_CLI_VERSION into $AZ_VENV (once; the az tests use it)" >&2
  rm -rf "$AZ_VENV"
  mkdir -p "$(dirname "$AZ_VENV")"
  local log="$AZ_VENV.install.log"
  if "$python" -m venv "$AZ_VENV" >"$log" 2>&1 && "$AZ_VENV/bin/python" -m pip install -q --upgrade pip >>"$log" 2>&1 \
      && "$AZ_VENV/bin/python" -m pip install -q "azure-cli==$AZ_CLI_VERSION" >>"$log" 2>&1; then
    echo "$AZ_CLI_VERSION" > "$stamp"
    export RDEPLOY_AZ="$AZ_VENV/bin/az"
  else
    tail -n 20 "$log" >&2
    rm -rf "$AZ_VENV"
    echo "dev.sh: azure-cli could not be installed (log: $log); the az tests fail under CI=true and skip elsewhere" >&2
  fi
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
    setup_az_cli
    setup_browser_terminal
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

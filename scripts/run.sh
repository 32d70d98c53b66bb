#!/usr/bin/env bash
# Set up and run the server on the embedded default (SQLite, in-process bus, no services needed):
# create the virtualenv, install the kernel and all built-in plugins, migrate, load demo data, serve.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
export ERP_DATA_DIR="${ERP_DATA_DIR:-$ROOT/var}"
mkdir -p "$ERP_DATA_DIR"
"$VENV/bin/erp" db upgrade
"$VENV/bin/erp" demo
echo "serving on http://127.0.0.1:${ERP_PORT:-8000}  (API docs: /docs)" >&2
exec "$VENV/bin/erp" serve --host 127.0.0.1 --port "${ERP_PORT:-8000}"

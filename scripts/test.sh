#!/usr/bin/env bash
# Set up everything and run the whole test suite against PostgreSQL and Redis.
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -m "not slow"   # the quick subset (about two minutes)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv test
ensure_services
ensure_tools
set +e
"$VENV/bin/pytest" "$@"
status=$?
# pytest exits 5 when a filter selects no test; that is not a failure of the code under test.
[ "$status" = 5 ] && status=0
exit "$status"

#!/usr/bin/env bash
# Restore a backup archive (see docs/operations.md, "Restore"):
#   erp-restore.sh /var/backups/erp/erp-erp-20250101T013000Z.dump --database-url postgresql://erp@db/erp_restored
#   erp-restore.sh ARCHIVE --replace --yes      # over the site database; stop erp-api and erp-worker first
set -euo pipefail
ENV_FILE="${ERP_ENV_FILE:-/etc/erp/erp.env}"
if [ -r "$ENV_FILE" ]; then
  set -a; . "$ENV_FILE"; set +a
fi
ERP_BIN="${ERP_BIN:-$(command -v erp || echo /opt/erp/venv/bin/erp)}"
exec "$ERP_BIN" restore "$@"

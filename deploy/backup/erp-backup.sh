#!/usr/bin/env bash
# Daily database backup (run by erp-backup.timer or cron): pg_dump custom format, verified, copied to the
# NAS, 30 days kept in both places, and the textfile metric for the "backup older than 26 hours" alert.
# All the work is `erp backup` (kernel/backup.py); this wrapper loads the site's environment file.
#   ERP_ENV_FILE (default /etc/erp/erp.env) sets ERP_DATABASE_URL, ERP_BACKUP_DIR, ERP_BACKUP_NAS_DIR,
#   ERP_BACKUP_RETENTION_DAYS and ERP_BACKUP_TEXTFILE_DIR.
set -euo pipefail
ENV_FILE="${ERP_ENV_FILE:-/etc/erp/erp.env}"
if [ -r "$ENV_FILE" ]; then
  set -a; . "$ENV_FILE"; set +a
fi
ERP_BIN="${ERP_BIN:-$(command -v erp || echo /opt/erp/venv/bin/erp)}"
exec "$ERP_BIN" backup "$@"

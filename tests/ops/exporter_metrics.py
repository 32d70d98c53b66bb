"""The exporter metrics the rules and dashboards rely on, per exporter, as those exporters expose them.

Checked against the real exporters (Debian's prometheus-postgres-exporter 0.11, prometheus-redis-exporter
1.45, prometheus-node-exporter 1.5; the compose file runs newer releases with the same names) by
test_monitoring.py when they are installed; pg_erp_table_* come from
deploy/postgres-exporter/queries.yaml. Use a new exporter metric in deploy/ only after adding it here.
"""

from __future__ import annotations

POSTGRES_EXPORTER = {
    "pg_up",
    "pg_stat_database_numbackends",
    "pg_settings_max_connections",
    "pg_database_size_bytes",
    "pg_erp_table_size_bytes",
    "pg_locks_count",
    "pg_stat_activity_max_tx_duration",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
    "pg_stat_database_deadlocks",
}
REDIS_EXPORTER = {
    "redis_up",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_connected_clients",
    "redis_commands_processed_total",
}
NODE_EXPORTER = {
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_load1",
}
PROMETHEUS_SYNTHETIC = {"up"}
"""Written by Prometheus itself for every scrape target."""

TEXTFILE_COLLECTOR = {"erp_backup_last_success_timestamp_seconds", "erp_backup_last_size_bytes"}
"""Written by `erp backup` for node_exporter's textfile collector (checked by test_backup.py)."""

"""Named by the alert rules and the system dashboard, exposed once the event bus (issue: events) lands."""

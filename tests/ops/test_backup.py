"""Backups that restore: the drill (back up, restore into a new database, compare) and retention."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from kernel import testing
from kernel.backup import ARCHIVE_GLOB, BackupError, libpq_env, prune, restore
from kernel.migrate import upgrade
from kernel.site import build_site
from tests.ops.helpers import DEPLOY, ERP, erp_env, require_tool, value


@pytest.fixture
def source_db(test_services: testing.TestServices, data_dir: Path) -> Iterator[str]:
    """A fresh, migrated database with the example plugin (dropped afterwards)."""
    name = f"erp_ops_backup_{uuid.uuid4().hex[:8]}"
    url = testing.create_database(test_services.pg_admin_url, name)
    site = build_site(testing.test_settings(url, data_dir, ["example"]))
    try:
        upgrade(site)
    finally:
        site.dispose()
    yield url
    testing.drop_database(test_services.pg_admin_url, name)


def _fingerprint(url: str) -> tuple[dict[str, int], str]:
    """Row count of every table, and an md5 over the notes table's full content in id order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            counts = {
                t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for t in sorted(inspect(conn).get_table_names())
            }
            digest = conn.execute(
                text("SELECT md5(string_agg(n::text, E'\\n' ORDER BY n.id)) FROM example_note n")
            ).scalar_one()
    finally:
        engine.dispose()
    return counts, digest


@pytest.mark.slow
def test_backup_drill_restores_every_row(
    source_db: str, test_services: testing.TestServices, tmp_path: Path
) -> None:
    require_tool("pg_dump")
    backup_dir, nas_dir, textfile_dir = tmp_path / "local", tmp_path / "nas", tmp_path / "textfile"
    env = erp_env(
        source_db,
        tmp_path,
        ["example"],
        ERP_BACKUP_DIR=str(backup_dir),
        ERP_BACKUP_NAS_DIR=str(nas_dir),
        ERP_BACKUP_TEXTFILE_DIR=str(textfile_dir),
    )
    demo = subprocess.run([ERP, "demo"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    engine = create_engine(source_db)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO example_note (text, created_at) "
                "SELECT 'note ' || i || ' ünïcode ' || md5(i::text), "
                "now() - i * interval '1 minute' "
                "FROM generate_series(1, 20000) AS i"
            )
        )
    engine.dispose()
    before = _fingerprint(source_db)
    assert before[0]["example_note"] == 20001

    # The shipped wrapper script, as the systemd timer runs it.
    backed_up = subprocess.run(
        [str(DEPLOY / "backup" / "erp-backup.sh")],
        env={**env, "ERP_BIN": ERP, "ERP_ENV_FILE": "/nonexistent"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert backed_up.returncode == 0, backed_up.stderr
    archives = sorted(backup_dir.glob(ARCHIVE_GLOB))
    assert len(archives) == 1 and (nas_dir / archives[0].name).is_file()
    assert (nas_dir / (archives[0].name + ".sha256")).is_file()
    metric = (textfile_dir / "erp_backup.prom").read_text()
    stamp = value(metric, "erp_backup_last_success_timestamp_seconds")
    assert abs(stamp - time.time()) < 120
    promtool = require_tool("promtool")
    lint = subprocess.run([promtool, "check", "metrics"], input=metric, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    # Restore the NAS copy (what survives a lost server) into a new database.
    restored_name = f"erp_ops_restored_{uuid.uuid4().hex[:8]}"
    from sqlalchemy import make_url

    restored_url = make_url(source_db).set(database=restored_name).render_as_string(hide_password=False)
    started = time.monotonic()
    nas_copy = str(nas_dir / archives[0].name)
    restored = subprocess.run(
        [ERP, "restore", nas_copy, "--database-url", restored_url],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    try:
        assert restored.returncode == 0, restored.stderr
        after = _fingerprint(restored_url)
        assert after == before
        size = archives[0].stat().st_size
        rows = sum(before[0].values())
        print(
            f"\nbackup drill: {rows} rows in {len(before[0])} tables, archive {size} bytes, "
            f"restore {elapsed:.2f} s ({restored.stdout.strip()})"
        )
        # The restored site is usable: migrations are up to date there too.
        current = subprocess.run(
            [ERP, "db", "current"],
            env={**env, "ERP_DATABASE_URL": restored_url},
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert "pending" not in current.stdout and "up to date" in current.stdout, current.stdout
        # Restoring over an existing database needs --replace.
        again = subprocess.run(
            [ERP, "restore", str(archives[0]), "--database-url", restored_url],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert again.returncode != 0 and "already exists" in again.stderr
    finally:
        testing.drop_database(test_services.pg_admin_url, restored_name)


def test_damaged_archive_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "erp-x-20250101T000000Z.dump"
    archive.write_bytes(b"PGDMP not really")
    (tmp_path / (archive.name + ".sha256")).write_text("0" * 64 + f"  {archive.name}\n")
    with pytest.raises(BackupError, match="checksum does not match"):
        restore(archive, "postgresql+psycopg://postgres@127.0.0.1/never_created")


def test_retention_keeps_30_days(tmp_path: Path) -> None:
    now = time.time()
    for days in (0, 10, 29.9, 30.1, 45):
        path = tmp_path / f"erp-db-{days}.dump"
        path.write_bytes(b"x")
        (tmp_path / (path.name + ".sha256")).write_text("x")
        os.utime(path, (now - days * 86400, now - days * 86400))
    removed = prune(tmp_path, 30, now=now)
    assert sorted(p.name for p in removed) == ["erp-db-30.1.dump", "erp-db-45.dump"]
    assert sorted(p.name for p in tmp_path.glob("*.dump")) == [
        "erp-db-0.dump",
        "erp-db-10.dump",
        "erp-db-29.9.dump",
    ]
    assert not (tmp_path / "erp-db-45.dump.sha256").exists()


def test_sqlite_sites_are_told_how_to_back_up() -> None:
    with pytest.raises(BackupError, match="copying it while the server is stopped"):
        libpq_env("sqlite:////tmp/erp.db")

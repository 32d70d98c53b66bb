"""Backups that restore: ``pg_dump -Fc`` with retention, a copy to the NAS, a metric, and ``pg_restore``.

The dump is written under a temporary name, checked by listing it with ``pg_restore --list``, then
renamed, so a file named ``erp-*.dump`` is always a complete archive. Passwords travel in the
environment of the child process (``PGPASSWORD``), never on its command line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url

ARCHIVE_GLOB = "erp-*.dump"
TEXTFILE_NAME = "erp_backup.prom"


class BackupError(Exception):
    """A backup or restore step failed; the message says which and why."""


@dataclass(frozen=True)
class BackupResult:
    """A finished backup: the archive, its copy on the NAS (if any), size, duration, pruned files."""

    path: Path
    nas_copy: Path | None
    size_bytes: int
    duration_seconds: float
    pruned: list[Path]


def libpq_env(database_url: str) -> dict[str, str]:
    """``PG*`` variables for pg_dump/pg_restore/psql from a SQLAlchemy URL (any driver suffix)."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise BackupError(
            f"backups need PostgreSQL (the database is {url.drivername}); the embedded SQLite file is "
            "backed up by copying it while the server is stopped"
        )
    env = {
        "PGDATABASE": url.database or "",
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
    }
    if url.username:
        env["PGUSER"] = url.username
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run(args: Sequence[str], env: dict[str, str]) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} not found: install the PostgreSQL client (postgresql-client-15)")
    proc = subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"{args[0]} failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_atomically(src: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = dest_dir / (src.name + ".part")
    shutil.copyfile(src, part)
    os.replace(part, dest_dir / src.name)
    return dest_dir / src.name


def prune(directory: Path, retention_days: int, now: float | None = None) -> list[Path]:
    """Delete archives (and their .sha256) in ``directory`` older than ``retention_days``; returns them."""
    cutoff = (now if now is not None else time.time()) - retention_days * 86400
    removed = []
    for archive in sorted(directory.glob(ARCHIVE_GLOB)):
        if archive.stat().st_mtime < cutoff:
            archive.unlink()
            archive.with_name(archive.name + ".sha256").unlink(missing_ok=True)
            removed.append(archive)
    return removed


def write_textfile_metrics(directory: Path, result: BackupResult, finished_at: float) -> Path:
    """Write the node_exporter textfile-collector file the "backup too old" alert reads."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "# HELP erp_backup_last_success_timestamp_seconds When the last complete backup finished.",
        "# TYPE erp_backup_last_success_timestamp_seconds gauge",
        f"erp_backup_last_success_timestamp_seconds {finished_at:.3f}",
        "# HELP erp_backup_last_size_bytes Size of the last backup archive.",
        "# TYPE erp_backup_last_size_bytes gauge",
        f"erp_backup_last_size_bytes {result.size_bytes}",
        "# HELP erp_backup_last_duration_seconds How long the last backup took.",
        "# TYPE erp_backup_last_duration_seconds gauge",
        f"erp_backup_last_duration_seconds {result.duration_seconds:.3f}",
    ]
    target = directory / TEXTFILE_NAME
    # node_exporter may read at any moment: never let it see a half-written file.
    tmp = directory / (TEXTFILE_NAME + f".{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, target)
    return target


def backup(
    database_url: str,
    *,
    backup_dir: Path,
    nas_dir: Path | None = None,
    retention_days: int = 30,
    textfile_dir: Path | None = None,
) -> BackupResult:
    """Dump the database (custom format), verify, copy to the NAS, prune old archives, write the metric.

    Success means every configured step worked; only then is the metric updated, so a broken NAS copy
    makes the "backup older than 26 hours" alert fire the next day.
    """
    env = libpq_env(database_url)
    started = time.monotonic()
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = backup_dir / f"erp-{env['PGDATABASE']}-{stamp}.dump"
    partial = final.with_name(final.name + ".part")
    try:
        _run(["pg_dump", "--format=custom", "--compress=6", f"--file={partial}"], env)
        _run(["pg_restore", "--list", str(partial)], {})
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, final)
    final.with_name(final.name + ".sha256").write_text(f"{_sha256(final)}  {final.name}\n")
    nas_copy = None
    pruned = prune(backup_dir, retention_days)
    if nas_dir is not None:
        try:
            nas_copy = _copy_atomically(final, nas_dir)
            _copy_atomically(final.with_name(final.name + ".sha256"), nas_dir)
        except OSError as exc:
            raise BackupError(
                f"the dump {final} is complete, but copying it to {nas_dir} failed: {exc}"
            ) from None
        pruned += prune(nas_dir, retention_days)
    result = BackupResult(final, nas_copy, final.stat().st_size, time.monotonic() - started, pruned)
    if textfile_dir is not None:
        write_textfile_metrics(textfile_dir, result, time.time())
    return result


def create_empty_database(database_url: str) -> None:
    """Create the database named in ``database_url`` (refuses when it exists)."""
    env = libpq_env(database_url)
    name = env.pop("PGDATABASE")
    _run(["createdb", "--template=template0", name], {**env, "PGDATABASE": "postgres"})


def drop_database(database_url: str) -> None:
    """Drop the database named in ``database_url``, disconnecting its sessions (PostgreSQL 13+)."""
    env = libpq_env(database_url)
    name = env.pop("PGDATABASE")
    _run(["dropdb", "--if-exists", "--force", name], {**env, "PGDATABASE": "postgres"})


def restore(archive: Path, database_url: str, *, replace: bool = False, jobs: int = 2) -> float:
    """Restore ``archive`` into the database of ``database_url``; returns the seconds it took.

    The target is created and must not exist, unless ``replace`` drops it first (stop the API and the
    workers before that). Ownership and grants are not restored: the objects belong to the connecting
    role, which is the one the server runs as.
    """
    if not archive.is_file():
        raise BackupError(f"{archive}: no such archive")
    checksum = archive.with_name(archive.name + ".sha256")
    if checksum.is_file() and checksum.read_text().split()[0] != _sha256(archive):
        raise BackupError(f"{archive}: checksum does not match {checksum.name}; the copy is damaged")
    started = time.monotonic()
    if replace:
        drop_database(database_url)
    create_empty_database(database_url)
    _run(
        [
            "pg_restore",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            f"--jobs={jobs}",
            f"--dbname={libpq_env(database_url)['PGDATABASE']}",
            str(archive),
        ],
        libpq_env(database_url),
    )
    return time.monotonic() - started


def latest_archive(directory: Path) -> Path | None:
    """The newest archive in ``directory`` (names sort by time), or None."""
    archives = sorted(directory.glob(ARCHIVE_GLOB))
    return archives[-1] if archives else None

"""The ``erp`` command line: serve, migrate, inspect plugins, check consistency, load demo data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from kernel.config import ConfigError, Settings, load_settings
from kernel.plugins import PluginError, installed_plugins
from kernel.site import Site, build_site


class CliError(Exception):
    """A command failed in a way the operator can fix; printed as one line."""


def _settings() -> Settings:
    ctx = click.get_current_context()
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings(obj.get("config"))
    settings: Settings = obj["settings"]
    return settings


def _site() -> Site:
    ctx = click.get_current_context()
    obj = ctx.ensure_object(dict)
    if "site" not in obj:
        obj["site"] = build_site(_settings())
        ctx.call_on_close(obj["site"].dispose)
    site: Site = obj["site"]
    return site


def _db_error_line(exc: OperationalError | ProgrammingError) -> str:
    orig = str(getattr(exc, "orig", exc)).strip().splitlines()
    first = orig[0] if orig else type(exc).__name__
    return f"database error: {first}"


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors an operator can fix into one readable line and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, PluginError, CliError) as exc:
            raise click.ClickException(str(exc)) from None
        except (OperationalError, ProgrammingError) as exc:
            raise click.ClickException(_db_error_line(exc)) from None
        except Exception as exc:
            from kernel.migrate import MigrationError

            if isinstance(exc, MigrationError) or type(exc).__module__.startswith("alembic"):
                raise click.ClickException(f"migration error: {exc}") from None
            raise

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    envvar="ERP_CONFIG",
    type=click.Path(dir_okay=False),
    help="Site file (default ./erp.toml; env ERP_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Run and administer the ERP server.

    Settings come from erp.toml (plugins = [...], [plugin.<name>] tables) and ERP_* environment
    variables, which win. With nothing configured it runs embedded: a SQLite file and a generated secret
    key in the current directory, no Redis needed.

    First start:  erp db upgrade && erp demo && erp serve
    """
    ctx.ensure_object(dict)["config"] = config


# --- serve --------------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Number of worker processes (one per CPU core is a good start).",
)
@friendly
def serve(host: str, port: int, workers: int) -> None:
    """Serve the REST API (uvicorn) with the enabled plugins.

    Refuses to start while database migrations are pending: run `erp db upgrade` first.
    """
    import uvicorn

    from kernel.logs import configure_logging
    from kernel.metrics.multiprocess import prepare_multiprocess_dir
    from kernel.migrate import pending_branches

    settings = _settings()
    pending = pending_branches(_site())
    if pending:
        raise CliError(f"database migrations pending for {', '.join(pending)}: run `erp db upgrade` first")
    configure_logging(settings.log_level, settings.log_json)
    # Before uvicorn spawns the workers: they must import prometheus_client with the directory set.
    prepare_multiprocess_dir(workers)
    if settings.is_sqlite and workers > 1:
        click.echo(
            "note: the embedded SQLite database serialises writes; use PostgreSQL for several workers",
            err=True,
        )
    uvicorn.run(
        "kernel.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.forwarded_allow_ips),
    )


@cli.command()
@click.option(
    "--processes",
    default=2,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Worker processes (0: run only the relay).",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Handler threads per worker process.",
)
@click.option(
    "--queues",
    default="",
    metavar="PLUGIN,...",
    help="Only deliver to these subscribing plugins (default: all).",
)
@click.option(
    "--relay/--no-relay",
    default=True,
    show_default=True,
    help="Also run the outbox relay (any number of relays may run at once).",
)
@friendly
def worker(processes: int, threads: int, queues: str, relay: bool) -> None:
    """Deliver events: the outbox relay plus Dramatiq worker processes (Redis or RabbitMQ broker).

    Runs until SIGTERM or Ctrl-C; a worker process that dies is replaced. With the in-process broker
    `erp serve` delivers events itself and this command is not needed.
    """
    from kernel.events.worker import run_worker
    from kernel.logs import configure_logging

    settings = _settings()
    if settings.broker in ("inprocess", "stub"):
        raise CliError(
            f"broker {settings.broker!r} lives inside one process; set ERP_BROKER=redis or "
            "rabbitmq for `erp worker` (with the in-process broker, `erp serve` delivers events)"
        )
    configure_logging(settings.log_level, settings.log_json)
    plugins = [q.strip() for q in queues.split(",") if q.strip()] or None
    run_worker(settings, processes=processes, threads=threads, plugins=plugins, relay=relay)


# --- db -----------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database migrations (one Alembic branch for the kernel and each enabled plugin)."""


@db.command("upgrade")
@click.argument("target", required=False)
@friendly
def db_upgrade(target: str | None) -> None:
    """Apply pending migrations of the kernel and the enabled plugins.

    TARGET (optional) is a revision or `<plugin>@head`; by default every enabled branch goes to its head.
    """
    from kernel.migrate import status, upgrade

    site = _site()
    upgrade(site, target)
    for state in status(site):
        click.echo(f"{state.branch:<14} {state.current or '(none)'}")


@db.command("downgrade")
@click.argument("target")
@friendly
def db_downgrade(target: str) -> None:
    """Undo migrations: TARGET is a plugin name (its whole branch, dropping its tables) or a revision."""
    from kernel.migrate import downgrade

    downgrade(_site(), target)
    click.echo(f"downgraded {target}")


@db.command("current")
@friendly
def db_current() -> None:
    """Show the applied revision of each enabled branch and whether migrations are pending."""
    from kernel.migrate import status

    for state in status(_site()):
        flag = "pending" if state.pending else "up to date"
        click.echo(f"{state.branch:<14} {state.current or '(none)':<18} head {state.head:<18} {flag}")


@db.command("heads")
@friendly
def db_heads() -> None:
    """Show the head revision of each enabled branch."""
    from kernel.migrate import status

    for state in status(_site()):
        click.echo(f"{state.branch:<14} {state.head}")


@db.command("revision")
@click.argument("plugin")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--empty", is_flag=True, help="Write an empty revision instead of autogenerating.")
@friendly
def db_revision(plugin: str, message: str, empty: bool) -> None:
    """(Plugin authors) Create a revision in PLUGIN's branch from its models."""
    from kernel.migrate import revision

    revision(_site(), plugin, message, autogenerate=not empty)


# --- plugins, check, demo -----------------------------------------------------------------------


@cli.command()
@friendly
def plugins() -> None:
    """List installed plugins, which are enabled, their versions and requirements, and load problems."""
    settings = _settings()
    infos = installed_plugins(settings.plugins)
    installed = {i.name for i in infos}
    click.echo(f"{'plugin':<14} {'enabled':<8} {'version':<10} {'requires':<28} problem")
    for info in infos:
        problem = info.error or ""
        missing = [r for r in info.requires if r not in settings.plugins]
        if info.enabled and missing and not problem:
            problem = f"requires {', '.join(missing)}, not enabled"
        click.echo(
            f"{info.name:<14} {'yes' if info.enabled else 'no':<8} {info.version or '?':<10} "
            f"{', '.join(info.requires) or '-':<28} {problem}"
        )
    for name in settings.plugins:
        if name not in installed:
            click.echo(f"{name:<14} {'yes':<8} {'?':<10} {'-':<28} enabled but not installed")
    try:
        build_site(settings).dispose()
    except PluginError as exc:
        raise CliError(f"the site would not start: {exc}") from None


@cli.command()
@friendly
def check() -> None:
    """Run every enabled plugin's consistency checks; exit status 1 when any violation is found."""
    site = _site()
    violations = 0
    with site.sessions() as session:
        for plugin, checks in site.registry.collect("erp_checks"):
            for check_fn in checks or []:
                name = getattr(check_fn, "__name__", repr(check_fn))
                found = list(check_fn(session))
                violations += len(found)
                status = "ok" if not found else f"{len(found)} violation(s)"
                click.echo(f"[{plugin.name}] {name}: {status}")
                for message in found:
                    click.echo(f"    {message}")
        session.rollback()
    if violations:
        click.echo(f"{violations} violation(s) found", err=True)
        sys.exit(1)
    click.echo("all checks passed")


@cli.command()
@friendly
def demo() -> None:
    """Load each enabled plugin's demo data (safe to run again: nothing is created twice)."""
    from kernel.db import unit_of_work

    site = _site()
    with unit_of_work(site.sessions) as session:
        for plugin, _ in site.registry.collect("erp_demo_data", session=session, settings=site.settings):
            click.echo(f"demo data loaded: {plugin.name}")
    _demo_users(site)


# --- users, audit (kernel.auth, kernel.audit) ---------------------------------------------------


def _sync_permissions(site: Site) -> None:
    from kernel.db import unit_of_work
    from kernel.rbac.permissions import declared_permissions
    from kernel.rbac.sync import sync_permissions

    with unit_of_work(site.sessions) as session:
        sync_permissions(session, declared_permissions(site), production=site.settings.env == "production")


def _demo_users(site: Site) -> None:
    """One demo user per role, on the embedded default only; each password is printed once."""
    import secrets

    from sqlalchemy import select

    from kernel.auth.models import User
    from kernel.auth.runtime import auth_runtime
    from kernel.auth.users import create_user
    from kernel.db import unit_of_work
    from kernel.rbac import ROLES

    if not site.settings.is_sqlite:
        click.echo("demo users are only created on the embedded default (SQLite); none created", err=True)
        return
    _sync_permissions(site)
    with unit_of_work(site.sessions) as session:
        for role in ROLES:
            username = "demo." + role.lower().replace(" ", ".")
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                continue
            password = secrets.token_urlsafe(12)
            create_user(
                session,
                auth_runtime(site),
                actor=None,
                username=username,
                full_name=f"Demo {role}",
                email=None,
                department=None,
                roles=[role],
                password=password,
            )
            click.echo(f"demo user {username:<28} role {role:<20} password {password}")


@cli.group()
def users() -> None:
    """User accounts (everything else is done through the API by an administrator)."""


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="A role (repeat for several).")
@click.option("--department", default=None, help="The user's department (set by department roles).")
@click.option("--full-name", default=None, help="Full name (default: the username).")
@click.option("--email", default=None, help="Email address.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@friendly
def users_create(
    username: str,
    roles: tuple[str, ...],
    department: str | None,
    full_name: str | None,
    email: str | None,
    password_stdin: bool,
) -> None:
    """Create a user, e.g. the first administrator.

    echo "$PASSWORD" | erp users create admin --role Superadmin --password-stdin
    """
    from kernel.auth.runtime import auth_runtime
    from kernel.auth.users import create_user
    from kernel.db import unit_of_work
    from kernel.errors import ErpError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    site = _site()
    _sync_permissions(site)
    try:
        with unit_of_work(site.sessions) as session:
            user = create_user(
                session,
                auth_runtime(site),
                actor=None,
                username=username,
                full_name=full_name or username,
                email=email,
                department=department,
                roles=list(roles),
                password=password,
            )
    except ErpError as exc:
        raise CliError(exc.detail) from None
    click.echo(f"created user {user.username} (id {user.id}) with role(s) {', '.join(user.roles)}")


@cli.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@friendly
def audit_verify() -> None:
    """Check every hash chain of the audit trail; names the first broken link of each, exit status 1."""
    from sqlalchemy import func, select

    from kernel.audit.chain import verify
    from kernel.audit.models import AuditLog

    site = _site()
    with site.sessions() as session:
        broken = list(verify(session))
        rows = session.scalar(select(func.count()).select_from(AuditLog)) or 0
        chains = session.scalar(select(func.count(func.distinct(AuditLog.chain)))) or 0
    for link in broken:
        click.echo(f"BROKEN {link.message}")
    if broken:
        click.echo(f"audit trail tampered: {len(broken)} chain(s) broken", err=True)
        sys.exit(1)
    click.echo(f"audit trail intact: {rows} row(s) in {chains} chain(s)")


@cli.command()
@click.option(
    "--tick",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.1, 60),
    help="Seconds between checks for due jobs.",
)
@friendly
def scheduler(tick: float) -> None:
    """Run the enabled plugins' periodic jobs (e.g. the daily 08:00 report).

    Safe to run on several machines at once: each period of each job runs exactly once.
    Stop with Ctrl-C or SIGTERM.
    """
    import signal

    from kernel.logs import configure_logging
    from kernel.scheduler import Scheduler

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    runner = Scheduler(_site(), tick=tick)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    click.echo(
        f"scheduler: {len(runner.jobs)} job(s): {', '.join(j.name for j in runner.jobs) or '-'}", err=True
    )
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner.stop()


# --- backup, restore ----------------------------------------------------------------------------


@cli.command()
@click.option(
    "--dir",
    "backup_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the dump (default: backup_dir, env ERP_BACKUP_DIR).",
)
@click.option(
    "--nas-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Mounted NAS directory to copy it to (default: backup_nas_dir, env ERP_BACKUP_NAS_DIR).",
)
@friendly
def backup(backup_dir: Path | None, nas_dir: Path | None) -> None:
    """Back up the database: pg_dump custom format, verified, copied to the NAS, old ones pruned.

    Keeps backup_retention_days (30) days of archives in both places and, when backup_textfile_dir is
    set, writes the metric the "backup too old" alert watches. Exit status 1 when any step failed.
    """
    from kernel.backup import BackupError
    from kernel.backup import backup as run_backup

    settings = _settings()
    try:
        result = run_backup(
            settings.database_url,
            backup_dir=backup_dir or settings.backup_dir,
            nas_dir=nas_dir or settings.backup_nas_dir,
            retention_days=settings.backup_retention_days,
            textfile_dir=settings.backup_textfile_dir,
        )
    except BackupError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"backup written: {result.path} ({result.size_bytes} bytes, {result.duration_seconds:.1f} s)")
    if result.nas_copy:
        click.echo(f"copied to: {result.nas_copy}")
    for path in result.pruned:
        click.echo(f"pruned: {path}")


@cli.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--database-url", help="Restore into this database (default: the site database).")
@click.option("--replace", is_flag=True, help="Drop the target database first (stop the API and workers).")
@click.option("--yes", is_flag=True, help="Confirm --replace without asking.")
@friendly
def restore(archive: Path, database_url: str | None, replace: bool, yes: bool) -> None:
    """Restore ARCHIVE (from `erp backup`) into a new database, or over the site database with --replace.

    Afterwards run `erp db upgrade` if the archive is from an older release, then `erp check`.
    """
    from kernel.backup import BackupError
    from kernel.backup import restore as run_restore
    from kernel.config import normalise_database_url

    target = normalise_database_url(database_url) if database_url else _settings().database_url
    if replace and not yes:
        click.confirm(f"drop and recreate the database of {target.split('@')[-1]}?", abort=True)
    try:
        seconds = run_restore(archive, target, replace=replace)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"restored {archive.name} in {seconds:.1f} s")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="erp")

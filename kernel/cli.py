"""The ``erp`` command line: serve, migrate, inspect plugins, check consistency, load demo data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
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
    from kernel.migrate import pending_branches

    settings = _settings()
    pending = pending_branches(_site())
    if pending:
        raise CliError(f"database migrations pending for {', '.join(pending)}: run `erp db upgrade` first")
    configure_logging(settings.log_level, settings.log_json)
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
        forwarded_allow_ips="127.0.0.1",
    )


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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="erp")

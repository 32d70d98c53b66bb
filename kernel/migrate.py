"""The migration runner behind ``erp db``: one Alembic environment, a branch per plugin.

Only the kernel's and the enabled plugins' branches are upgraded. The directories of installed but
disabled plugins are still made known to Alembic, so that a database which once had them keeps
working (their tables and revisions stay untouched).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from kernel.plugins import installed_plugins, load_disabled_module
from kernel.site import Site

ENV_DIR = Path(__file__).parent / "migrations"


class MigrationError(Exception):
    """A migration command cannot proceed; the message says why."""


def _extra_locations(site: Site) -> list[Path]:
    extra = []
    enabled = set(site.migration_dirs)
    for info in installed_plugins():
        if info.name in enabled or info.error:
            continue
        module = load_disabled_module(info.name)
        hook = getattr(module, "erp_migrations", None)
        if hook is not None:
            path = Path(hook()).resolve()
            if path.is_dir():
                extra.append(path)
    return extra


def alembic_config(site: Site, connection: Connection | None = None) -> Config:
    """An Alembic Config for the site (pass ``connection`` to run inside an existing connection)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV_DIR))
    cfg.set_main_option("path_separator", "os")
    locations = [*site.migration_dirs.values(), *_extra_locations(site)]
    cfg.set_main_option("version_locations", ":".join(str(p) for p in locations))
    cfg.attributes["site"] = site
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(site: Site, target: str | None = None, connection: Connection | None = None) -> None:
    """Upgrade every enabled branch to its head (or to ``target``: a revision or ``<plugin>@head``)."""
    cfg = alembic_config(site, connection)
    if target:
        command.upgrade(cfg, target)
        return
    labels = _branch_labels(ScriptDirectory.from_config(cfg))
    for branch in site.migration_dirs:
        if branch in labels:  # a plugin may declare a directory before its first revision exists
            command.upgrade(cfg, f"{branch}@head")


def downgrade(site: Site, target: str, connection: Connection | None = None) -> None:
    """Downgrade a plugin's whole branch (``target`` is a plugin name) or to a revision."""
    cfg = alembic_config(site, connection)
    script = ScriptDirectory.from_config(cfg)
    if target in _branch_labels(script):
        target = f"{target}@base"
    command.downgrade(cfg, target)


def _branch_labels(script: ScriptDirectory) -> set[str]:
    labels: set[str] = set()
    for rev in script.walk_revisions():
        labels.update(rev.branch_labels)
    return labels


@dataclass
class BranchState:
    """Where one branch stands: its applied revision (None if never) and its head."""

    branch: str
    current: str | None
    head: str

    @property
    def pending(self) -> bool:
        """True when revisions of this branch are not applied yet."""
        return self.current != self.head


def status(site: Site) -> list[BranchState]:
    """The applied and head revision of every enabled branch."""
    cfg = alembic_config(site)
    script = ScriptDirectory.from_config(cfg)
    with site.engine.connect() as conn:
        current_heads = MigrationContext.configure(conn).get_current_heads()
    applied = (
        {rev.revision for rev in script.iterate_revisions(current_heads, "base")} if current_heads else set()
    )
    states = []
    labels = _branch_labels(script)
    for branch in site.migration_dirs:
        if branch not in labels:
            continue
        head = script.get_revision(f"{branch}@head")
        if head is None:
            raise MigrationError(f"branch {branch!r} has no revisions")
        chain = [
            r.revision
            for r in script.iterate_revisions(head.revision, "base")
            if branch in _labels_of(script, r.revision)
        ]
        current = next((rev for rev in chain if rev in applied), None)
        states.append(BranchState(branch=branch, current=current, head=head.revision))
    return states


def _labels_of(script: ScriptDirectory, revision: str) -> set[str]:
    rev = script.get_revision(revision)
    return set(rev.branch_labels) if rev is not None else set()


def pending_branches(site: Site) -> list[str]:
    """Enabled branches with unapplied revisions (empty when the database is up to date)."""
    return [s.branch for s in status(site) if s.pending]


def revision(site: Site, plugin: str, message: str, autogenerate: bool = True) -> None:
    """Create a new revision in ``plugin``'s branch (starting the branch if it has none yet)."""
    if plugin not in site.migration_dirs:
        raise MigrationError(f"plugin {plugin!r} is not enabled or declares no migrations directory")
    cfg = alembic_config(site)
    script = ScriptDirectory.from_config(cfg)
    version_path = str(site.migration_dirs[plugin])
    # Readable, ordered ids ("warehouse_0003") instead of random hex: reviewers see the sequence.
    existing = sum(1 for rev in script.walk_revisions() if plugin in rev.branch_labels)
    rev_id = f"{plugin}_{existing + 1:04d}"
    if existing:
        command.revision(
            cfg,
            message=message,
            autogenerate=autogenerate,
            head=f"{plugin}@head",
            version_path=version_path,
            rev_id=rev_id,
        )
    else:
        command.revision(
            cfg,
            message=message,
            autogenerate=autogenerate,
            head="base",
            rev_id=rev_id,
            branch_label=plugin,
            version_path=version_path,
            depends_on="kernel_0001",
        )

"""Site configuration: environment variables (``ERP_*``) over the site file ``erp.toml``.

Defaults give the embedded mode: a SQLite file and a generated secret key in the data directory, the
in-process bus and no Redis, so that ``erp db upgrade && erp serve`` works in an empty directory.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

BUILTIN_PLUGINS = ["approval", "kanban", "ppic", "production", "quality", "warehouse"]
SECRET_FILE = ".erp_secret_key"
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line an operator can act on."""


class Settings(BaseSettings):
    """Everything a site can configure. Environment variables win over ``erp.toml``."""

    model_config = SettingsConfigDict(env_prefix="ERP_", extra="forbid", validate_default=True)

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path("."), description="Where the SQLite file and generated key live.")
    database_url: str = ""
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_echo: bool = False
    redis_url: str = ""
    broker: Literal["inprocess", "redis", "rabbitmq", "stub"] = "inprocess"
    broker_url: str = ""
    broker_namespace: str = Field(
        default="erp",
        pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$",
        description="Prefix of the event queues (and Redis keys), so sites can share a broker.",
    )
    # Event delivery (kernel.events). Attempts are counted in the database, not by the broker.
    events_max_attempts: int = Field(default=5, ge=1, le=100)
    events_backoff_base: float = Field(default=2.0, gt=0, description="Seconds before the first retry.")
    events_backoff_max: float = Field(default=600.0, gt=0, description="Longest wait between retries.")
    events_time_limit: float = Field(default=60.0, gt=0, description="Seconds a handler may run.")
    events_lease_margin: float = Field(
        default=15.0, gt=0, description="Seconds past the time limit before an unfinished attempt is retried."
    )
    events_redeliver_after: float = Field(
        default=300.0,
        gt=0,
        description="Seconds before a published but unstarted delivery is published again.",
    )
    events_relay_interval: float = Field(
        default=1.0,
        gt=0,
        description="Relay poll interval when idle. Commits that emit events wake the relay at once (in "
        "process, and through PostgreSQL NOTIFY across processes); the poll catches retries falling due.",
    )
    events_relay_coalesce: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="After a wake-up, the relay waits this long so one pass publishes the events committed "
        "meanwhile together (adds at most this much lag; saves a pass per event under load).",
    )
    events_relay_batch: int = Field(default=200, ge=1, le=10000)
    events_embedded_worker: bool | None = Field(
        default=None,
        description="Run relay and worker inside the API process (default: with broker=inprocess).",
    )
    events_embedded_threads: int = Field(default=2, ge=1, le=64)
    events_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a fully delivered event is kept before the nightly purge.",
    )
    secret_key: str = ""
    embedded_background: bool = Field(
        default=True,
        description="With broker=inprocess, run background work (scheduler) inside the API process.",
    )
    plugins: list[str] = Field(default_factory=lambda: list(BUILTIN_PLUGINS))
    plugin: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-plugin settings: the [plugin.<name>] tables of erp.toml."
    )
    timezone: str = "Asia/Jakarta"
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    log_json: bool = True
    site_name: str = "ERP"
    metrics_allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Addresses or CIDRs that may read /metrics without a user token (the Prometheus host).",
    )
    forwarded_allow_ips: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="Proxies (nginx) whose X-Forwarded-For/X-Real-IP headers `erp serve` trusts.",
    )
    backup_dir: Path = Field(default=Path("/var/backups/erp"), description="Where `erp backup` writes dumps.")
    backup_nas_dir: Path | None = Field(default=None, description="Mounted NAS dir for copies.")
    backup_retention_days: int = Field(default=30, ge=1, le=3650)
    backup_textfile_dir: Path | None = Field(
        default=None, description="node_exporter textfile-collector directory for the backup metrics."
    )

    # --- authentication (kernel.auth) ---
    access_token_minutes: int = Field(default=15, ge=1, le=60, description="Lifetime of an access JWT.")
    principal_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Longest a worker reuses a caller's loaded roles and grants (0: no cache). Changes made "
        "through the application invalidate every worker's cache at once; this bounds edits made in SQL.",
    )
    refresh_token_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="Lifetime of a session (its refresh tokens): a shift."
    )
    jwt_issuer: str = "erp"
    jwt_audience: str = "erp-api"
    # OWASP's Argon2id floor is m=19 MiB, t=2, p=1: nothing weaker is accepted.
    password_time_cost: int = Field(default=2, ge=2, le=20)
    password_memory_kib: int = Field(default=19456, ge=19456, le=1024 * 1024)
    login_max_failures_per_account: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=30, ge=1, le=100000)
    login_lockout_seconds: int = Field(
        default=900, ge=1, le=86400, description="Window in which failures count; lockout after the limit."
    )
    # --- audit trail (kernel.audit) ---
    audit_chains: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="Independent hash chains; writers on different chains never wait.",
    )

    # Not configurable: records how the secret key was obtained, for the production check.
    secret_key_generated: bool = Field(default=False, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first so that it overrides what erp.toml (passed as init kwargs) says.
        return (env_settings, init_settings)

    @field_validator("plugins")
    @classmethod
    def _unique_plugins(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if name in seen:
                raise ValueError(f"plugin {name!r} is listed twice")
            seen.add(name)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard_origin(cls, value: list[str]) -> list[str]:
        # The API allows credentials (Authorization header), and "*" with credentials lets any site
        # drive a logged-in browser: origins must be listed one by one.
        if any(origin.strip() == "*" for origin in value):
            raise ValueError('"*" is refused because credentials are allowed; list each origin')
        return value

    @field_validator("metrics_allow", "forwarded_allow_ips")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return value

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    def plugin_settings(self, name: str) -> dict[str, Any]:
        """The ``[plugin.<name>]`` table of the site file (empty when absent)."""
        return dict(self.plugin.get(name, {}))


def _read_site_file(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: site file not found (set ERP_CONFIG to an existing erp.toml)")
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def normalise_database_url(url: str) -> str:
    """The SQLAlchemy URL for ``url``: ``postgresql://`` and ``postgres://`` go through psycopg 3."""
    # psycopg 3 is the driver; accept the plain scheme operators usually write.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _load_or_create_secret(data_dir: Path) -> str:
    key_file = data_dir / SECRET_FILE
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions from the start, not chmod afterwards.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def _first_error_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "config"
    return f"invalid setting {field!r} (env ERP_{field.split('.')[0].upper()}): {err['msg']}"


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from ``ERP_CONFIG`` (default ``./erp.toml``), the environment and overrides.

    Raises ConfigError with one readable line when anything is wrong.
    """
    explicit = config_path is not None or "ERP_CONFIG" in os.environ
    path = Path(config_path or os.environ.get("ERP_CONFIG", "erp.toml"))
    data = _read_site_file(path, required=explicit)
    data.update(overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_first_error_line(exc)) from None
    return finalise(settings)


def finalise(settings: Settings) -> Settings:
    """Fill derived defaults (database file, secret key) and enforce the production rules."""
    data_dir = settings.data_dir.expanduser().resolve()
    updates: dict[str, Any] = {"data_dir": data_dir}
    url = settings.database_url or f"sqlite:///{data_dir / 'erp.db'}"
    updates["database_url"] = normalise_database_url(url)
    if not settings.secret_key:
        if settings.env == "production":
            raise ConfigError(
                "ERP_ENV=production needs ERP_SECRET_KEY set explicitly (at least 32 characters)"
            )
        updates["secret_key"] = _load_or_create_secret(data_dir)
        updates["secret_key_generated"] = True
    settings = settings.model_copy(update=updates)
    if settings.env == "production":
        if len(settings.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"ERP_SECRET_KEY is too short for production (minimum {MIN_SECRET_LENGTH} characters)"
            )
        if settings.is_sqlite:
            raise ConfigError("ERP_ENV=production refuses SQLite: set ERP_DATABASE_URL to PostgreSQL")
    return settings

"""Render deploy/nginx/nginx.conf for a test run: only ports, file paths and upstream addresses change.

Every substitution is listed here and each must apply exactly once (or as counted), so the config under
test is the shipped one, not a rewritten copy.
"""

from __future__ import annotations

import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.ops.helpers import DEPLOY

SOURCE = DEPLOY / "nginx" / "nginx.conf"


@dataclass(frozen=True)
class NginxPorts:
    """Where the test nginx listens and where its upstreams are."""

    http: int
    https: int
    api: int
    ws: int


def _user_line() -> str:
    # The image runs workers as `nginx`; Debian's package has `www-data` instead.
    for user in ("nginx", "www-data"):
        try:
            pwd.getpwnam(user)
            return f"user {user};"
        except KeyError:
            continue
    return ""


def _upstream(name: str, server: str) -> str:
    return f"upstream {name} {{\n        server {server};"


def render(workdir: Path, ports: NginxPorts) -> Path:
    """Write the test copy of nginx.conf (and a self-signed certificate) into ``workdir``."""
    (workdir / "ssl").mkdir(parents=True, exist_ok=True)
    (workdir / "ui").mkdir(exist_ok=True)
    (workdir / "ui" / "index.html").write_text("<!doctype html><title>ERP</title>\n")
    if not (workdir / "ssl" / "cert.pem").exists():
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(workdir / "ssl" / "key.pem"),
                "-out",
                str(workdir / "ssl" / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )
    substitutions: list[tuple[str, str, int]] = [
        ("user nginx;", _user_line(), 1),
        ("pid /var/run/nginx.pid;", f"pid {workdir}/nginx.pid;", 1),
        ("/var/log/nginx/error.log", f"{workdir}/error.log", 1),
        ("/var/log/nginx/erp_access.log", f"{workdir}/access.log", 1),
        ("/etc/nginx/ssl/", f"{workdir}/ssl/", 2),
        ("root /usr/share/erp-ui;", f"root {workdir}/ui;", 1),
        ("listen [::]:80;", "", 1),
        ("listen [::]:443 ssl http2;", "", 1),
        ("listen 80;", f"listen 127.0.0.1:{ports.http};", 1),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{ports.https} ssl http2;", 1),
        (_upstream("erp_api", "api:8000"), _upstream("erp_api", f"127.0.0.1:{ports.api}"), 1),
        (_upstream("erp_ws", "api:8000"), _upstream("erp_ws", f"127.0.0.1:{ports.ws}"), 1),
    ]
    text = SOURCE.read_text()
    for old, new, count in substitutions:
        found = text.count(old)
        assert found == count, f"nginx.conf changed: {old!r} found {found} times, expected {count}"
        text = text.replace(old, new)
    conf = workdir / "nginx.conf"
    conf.write_text(text)
    return conf


def nginx_args(nginx: str, workdir: Path, conf: Path) -> list[str]:
    """Command line running nginx on ``conf`` with every file under ``workdir``."""
    return [nginx, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf)]

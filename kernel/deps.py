"""FastAPI dependencies shared by the kernel and plugins (``SessionDep``, ``SiteDep``...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from kernel.config import Settings
from kernel.site import Site


def get_site(request: HTTPConnection) -> Site:
    """The Site the app was built for."""
    site: Site = request.app.state.site
    return site


def get_settings(request: HTTPConnection) -> Settings:
    """The site settings."""
    return get_site(request).settings


def get_session(request: HTTPConnection) -> Iterator[Session]:
    """The request's unit of work: commit when the route returns, roll back on any error.

    Used with ``scope="function"`` so the commit happens before the response is sent: a client never
    sees a success for a change that failed to commit.
    """
    from kernel.audit.recording import queue_request_row, request_row_committed

    session = get_site(request).sessions()
    try:
        yield session
        status = queue_request_row(request, session)
        session.commit()
        if status is not None:
            request_row_committed(request, status)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SiteDep = Annotated[Site, Depends(get_site)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

"""FastAPI dependencies shared by the kernel and plugins (``SessionDep``, ``SiteDep``...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from kernel.config import Settings
from kernel.site import Site


def site_of_request(request: HTTPConnection) -> Site:
    """The Site the app was built for."""
    site: Site = request.app.state.site
    return site


# The two dependencies below are ``async`` only so FastAPI calls them on the event loop: a plain
# ``def`` dependency costs a hop to the thread pool on every request, for an attribute read.
async def get_site(request: HTTPConnection) -> Site:
    """Dependency: the Site the app was built for."""
    return site_of_request(request)


async def get_settings(request: HTTPConnection) -> Settings:
    """Dependency: the site settings."""
    return site_of_request(request).settings


def get_session(request: HTTPConnection) -> Iterator[Session]:
    """The request's unit of work: commit when the route returns, roll back on any error.

    Used with ``scope="function"`` so the commit happens before the response is sent: a client never
    sees a success for a change that failed to commit.
    """
    from kernel.audit.recording import queue_request_row, request_row_committed

    session = site_of_request(request).sessions()
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

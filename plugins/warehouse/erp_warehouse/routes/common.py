"""Small helpers the warehouse routes share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from kernel.pagination import Page, PageParams


def page_of(items: list[Any], total: int, page: PageParams) -> Page[Any]:
    """The kernel's one page shape."""
    return Page[Any](items=items, total=total, limit=page.limit, offset=page.offset)


def stream_with_session(
    sessions: sessionmaker[Session], produce: Callable[..., Iterator[str]], **kwargs: Any
) -> Iterator[str]:
    """Run a CSV generator in a read session of its own (the request's session ends with the route)."""
    with sessions() as session:
        yield from produce(session, **kwargs)

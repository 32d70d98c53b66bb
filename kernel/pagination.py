"""The one pagination shape of the API: ``?limit=&offset=`` in, ``{items, total, limit, offset}`` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")
MAX_LIMIT = 500


class PageParams(BaseModel):
    """Which slice of a list to return."""

    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> PageParams:
    """Parse ``limit`` and ``offset`` (bad values are a 422)."""
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    """A page of a list and the total number of matching items."""

    items: list[T]
    total: int
    limit: int
    offset: int


PageDep = Annotated[PageParams, Depends(page_params)]

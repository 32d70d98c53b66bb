"""Test helpers of the kanban plugin: production's small factory plus principals, cards and counts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from erp_kanban import cards
from erp_kanban.boards import department_board
from erp_kanban.models import BoardColumn, Card, CardEvent
from erp_kanban.schemas import CardIn
from erp_warehouse.models import StockLedger
from production_testkit import Factory
from sqlalchemy import func, select

from kernel.rbac import Principal
from kernel.site import Site

PLUGINS = ["approval", "warehouse", "production", "kanban"]


def principal(site: Site, role: str, department: str | None = None) -> Principal:
    """The Principal of a role with the site's default grants (what a route would pass to a service)."""
    from kernel.rbac.roles import DEPARTMENT_ROLES

    perms: set[str] = set()
    for _plugin, declared in site.registry.collect("erp_permissions"):
        for p in declared or []:
            if role in p.default_roles:
                perms.add(p.name)
    scoped = frozenset(perms) if role in DEPARTMENT_ROLES else frozenset()
    return Principal(
        user_id=0,
        username=role.lower().replace(" ", "_"),
        full_name=role,
        roles=(role,),
        department=department or DEPARTMENT_ROLES.get(role),
        permissions=frozenset(perms),
        session_id="test",
        scoped_permissions=scoped,
    )


class Shop(Factory):
    """Production's small factory with kanban helpers."""

    def board(self, department: str) -> dict[str, Any]:
        """Board id and column ids by state of a department board (created if needed)."""
        with self.session() as s:
            board = department_board(s, department=department)
            columns = {
                c.state: c.id for c in s.scalars(select(BoardColumn).where(BoardColumn.board_id == board.id))
            }
            return {"id": board.id, "columns": columns}

    def set_wip(self, column_id: int, limit: int | None) -> None:
        """Set a column's WIP limit directly."""
        with self.session() as s:
            s.get_one(BoardColumn, column_id).wip_limit = limit

    def card(self, product: str, qty: str, department: str = "Sewing", **extra: Any) -> int:
        """Create a replenishment card as PPIC Manager; returns its id."""
        data = CardIn(
            product_id=self.products[product], quantity=Decimal(qty), department=department, **extra
        )
        with self.session() as s:
            return cards.create_card(s, data=data, principal=principal(self.site, "PPIC Manager")).id

    def get(self, card_id: int) -> Card:
        """A card as committed now."""
        with self.site.sessions() as s:
            card = s.get_one(Card, card_id)
            s.expunge(card)
            return card

    def open_cards(self, product: str, store: str) -> list[Card]:
        """Open replenishment cards of a product for a store."""
        with self.site.sessions() as s:
            return list(
                s.scalars(
                    select(Card).where(
                        Card.product_id == self.products[product],
                        Card.store_location_id == self.locations[store],
                        Card.state.in_(("pending", "approved", "in_progress")),
                    )
                )
            )

    def history(self, card_id: int) -> list[tuple[str, str | None, str]]:
        """(action, from state, to state) of a card's history."""
        with self.site.sessions() as s:
            rows = s.execute(
                select(CardEvent.action, CardEvent.from_state, CardEvent.to_state)
                .where(CardEvent.card_id == card_id)
                .order_by(CardEvent.id)
            )
            return [tuple(r) for r in rows.tuples()]  # type: ignore[misc]

    def ledger(self, reference: str) -> list[tuple[int, int, int, Decimal]]:
        """(product, from, to, quantity) of the ledger rows of a reference."""
        with self.site.sessions() as s:
            rows = s.execute(
                select(
                    StockLedger.product_id,
                    StockLedger.from_location_id,
                    StockLedger.to_location_id,
                    StockLedger.quantity,
                ).where(StockLedger.reference == reference)
            )
            return [tuple(r) for r in rows.tuples()]  # type: ignore[misc]

    def count_cards(self) -> int:
        """Every card."""
        with self.site.sessions() as s:
            return s.scalar(select(func.count(Card.id))) or 0


def run_concurrently(count: int, fn: Callable[[int], object]) -> list[object]:
    """Call ``fn(i)`` from ``count`` threads released together; returns results or raised exceptions."""
    barrier = threading.Barrier(count)

    def call(i: int) -> object:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))

"""Demo data: a board per department with WIP limits, reorder rules and open cards; safe to load twice."""

from __future__ import annotations

from collections.abc import Callable

from erp_kanban.checks import cards_agree_with_their_columns
from erp_kanban.models import Board, BoardColumn, Card, ReorderRule
from kanban_testkit import PLUGINS
from sqlalchemy import func, select

from kernel.db import unit_of_work
from kernel.site import Site


def load(site: Site) -> None:
    with unit_of_work(site.sessions) as session:
        list(site.registry.collect("erp_demo_data", session=session, settings=site.settings))


def counts(site: Site) -> tuple[int, int, int]:
    with site.sessions() as s:
        return (
            s.scalar(select(func.count(Board.id))) or 0,
            s.scalar(select(func.count(ReorderRule.id))) or 0,
            s.scalar(select(func.count(Card.id))) or 0,
        )


def test_erp_demo_data_gives_every_department_a_board_with_rules_and_cards_and_is_idempotent(
    make_site: Callable[..., Site],
) -> None:
    site = make_site(PLUGINS)
    load(site)
    boards, rules, cards = counts(site)
    assert (boards, rules) == (6, 6)
    # Every rule's store starts at or below its point (stores hold nothing yet): a card per rule, plus
    # two requested by hand.
    assert cards == 6 + 2
    with site.sessions() as s:
        limits = set(s.scalars(select(BoardColumn.wip_limit).where(BoardColumn.state == "in_progress")))
        packing = s.scalar(select(Board).where(Board.department == "Packing"))
        states = dict(s.execute(select(Card.state, func.count()).group_by(Card.state)).tuples().all())
        assert packing is not None and packing.auto_approve_below is not None
    assert limits == {5}
    assert set(states) <= {"pending", "approved"} and sum(states.values()) == cards
    load(site)
    assert counts(site) == (boards, rules, cards)
    with site.sessions() as s:
        assert list(cards_agree_with_their_columns(s)) == []

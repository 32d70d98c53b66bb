"""Material debt (on_stock_negative, approval, on_goods_received FIFO), concurrent inputs and allocation."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from erp_approval import service as approval
from erp_approval.models import ApprovalRequest, ApprovalRequestStep
from erp_production import allocation, daily, mo
from erp_production.checks import debts_match_settlements
from erp_production.models import Consumption, DailyInput, DebtSettlement, MaterialDebt, Spk
from erp_production.schemas import MoIn
from erp_warehouse import purchasing
from erp_warehouse.models import StockLedger, StockReservation
from erp_warehouse.schemas import PoIn, PoLineIn, ReceiptLineIn
from production_testkit import Factory
from sqlalchemy import func, select

D = Decimal


def _first_spk(f: Factory, department: str = "Cutting", batch: str = "B-1") -> Spk:
    with f.session() as s:
        order = mo.create_mo(
            s,
            data=MoIn(product_id=f.products["TEDDY"], quantity=D(100), routing="route1", batch_number=batch),
        )
        _, created = mo.release_mo(s, mo_id=order.id, level="full")
        s.expunge_all()
    return next(x for x in created if x.department == department)


def _post(f: Factory, spk_id: int, days_ago: int, good: str, user: str) -> None:
    with f.session() as s:
        day = daily.site_today(s) - timedelta(days=days_ago)
        daily.post_daily_input(s, hooks=f.hooks, spk_id=spk_id, work_date=day, good=D(good), user=user)


def _approve(f: Factory, request_id: int) -> None:
    with f.session() as s:
        steps = list(
            s.scalars(
                select(ApprovalRequestStep)
                .where(ApprovalRequestStep.request_id == request_id)
                .order_by(ApprovalRequestStep.step)
            )
        )
        roles = [x.role for x in steps]
    for role in roles:
        department = role.removeprefix("SPV ") if role.startswith("SPV ") else None
        user = f.user(role, department)
        with f.session() as s:
            approval.decide(
                s,
                request_id=request_id,
                approver_id=user.id,
                approver_roles=(role,),
                approver_department=department,
                decision="approve",
            )


def _receive(f: Factory, product: str, qty: str, location: str = "MAIN") -> None:
    with f.session() as s:
        po = purchasing.create_po(
            s,
            data=PoIn(
                po_type="accessories",
                supplier_id=f.supplier_id,
                location_id=f.locations[location],
                lines=[PoLineIn(product_id=f.products[product], quantity=D(qty), price=D("1000"))],
            ),
        )
        purchasing.send_po(s, po_id=po.id)
        line = purchasing.po_lines(s, po_id=po.id)[0]
        purchasing.receive_po(
            s, hooks=f.hooks, po_id=po.id, lines=[ReceiptLineIn(line_id=line.id, quantity=D(qty))]
        )


def test_on_stock_negative_records_debt_then_on_goods_received_settles_fifo(factory: Factory) -> None:
    f = factory
    operator = f.user("Admin Cutting", "Cutting")
    cut = _first_spk(f)
    f.stock_in("FAB", "CUTTING", "10")
    _post(f, cut.id, 2, "20", operator.username)  # needs 11 m, has 10: 1 m debt
    _post(f, cut.id, 1, "10", operator.username)  # needs 5.5 m more, has none: 5.5 m debt
    assert f.on_hand("FAB", "CUTTING") == 0
    with f.session() as s:
        debts = list(s.scalars(select(MaterialDebt).order_by(MaterialDebt.id)))
        assert [(d.quantity, d.state, d.department) for d in debts] == [
            (D(1), "pending", "Cutting"),
            (D("5.5"), "pending", "Cutting"),
        ]
        request = s.get(ApprovalRequest, debts[0].approval_request_id)
        assert request is not None and request.request_type == "production.material_debt"
        roles = list(
            s.scalars(
                select(ApprovalRequestStep.role)
                .where(ApprovalRequestStep.request_id == request.id)
                .order_by(ApprovalRequestStep.step)
            )
        )
        assert roles == ["SPV Cutting", "Manager"]
        consumed = s.scalar(select(func.sum(Consumption.quantity)).where(Consumption.spk_id == cut.id))
        assert consumed == D("16.5")  # consumption counts the owed part too
        ids = [(d.id, d.approval_request_id) for d in debts]
    for _, request_id in ids:
        assert request_id is not None
        _approve(f, request_id)
    with f.session() as s:
        assert {d.state for d in s.scalars(select(MaterialDebt))} == {"approved"}

    _receive(f, "FAB", "4")  # settles debt 1 fully (1 m), debt 2 partly (3 of 5.5 m), FIFO
    with f.session() as s:
        d1, d2 = s.scalars(select(MaterialDebt).order_by(MaterialDebt.id))
        assert (d1.state, d1.settled_qty) == ("settled", D(1))
        assert (d2.state, d2.settled_qty) == ("approved", D(3))
        settlements = list(s.scalars(select(DebtSettlement).order_by(DebtSettlement.id)))
        assert [x.quantity for x in settlements] == [D(1), D(3)]
        ledger = s.scalar(select(func.sum(StockLedger.quantity)).where(StockLedger.reference.like("DEBT-%")))
        assert ledger == D(4)
        assert list(debts_match_settlements(s)) == []
    assert f.on_hand("FAB", "MAIN") == 0
    _receive(f, "FAB", "10")
    with f.session() as s:
        d2 = s.scalars(select(MaterialDebt).order_by(MaterialDebt.id.desc())).first()
        assert d2 is not None and (d2.state, d2.settled_qty) == ("settled", D("5.5"))
    assert f.on_hand("FAB", "MAIN") == D("7.5")


def test_debt_of_unknown_user_is_refused_and_nothing_written(factory: Factory) -> None:
    f = factory
    cut = _first_spk(f)
    from kernel.errors import Conflict

    with pytest.raises(Conflict):
        _post(f, cut.id, 0, "10", "nobody-known")
    with f.session() as s:
        assert s.scalar(select(func.count(DailyInput.id))) == 0
        assert s.scalar(select(func.count(MaterialDebt.id))) == 0


def test_concurrent_daily_inputs_on_one_spk_stay_exact(factory: Factory) -> None:
    f = factory
    operator = f.user("Admin Cutting", "Cutting")
    cut = _first_spk(f)
    f.stock_in("FAB", "CUTTING", "100")
    errors: list[BaseException] = []

    def worker(day: int) -> None:
        try:
            _post(f, cut.id, day, "10", operator.username)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(d,)) for d in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert f.on_hand("WIP-CUT", "CUTTING") == D(80)
    assert f.on_hand("FAB", "CUTTING") == D(100) - D(80) * D("0.55")
    with f.session() as s:
        assert s.scalar(select(func.sum(Consumption.quantity))) == D(44)


def test_allocation_run_concurrently_reserves_once(factory: Factory) -> None:
    f = factory
    cut = _first_spk(f)
    f.stock_in("FAB", "CUTTING", "30", lot="L1")
    f.stock_in("FAB", "CUTTING", "50", lot="L2")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with f.session() as s:
                allocation.allocate(s, spk_id=cut.id, user="ppic")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert f.reserved("FAB", "CUTTING") == D("60.5")
    with f.session() as s:
        total = s.scalar(
            select(func.sum(StockReservation.quantity)).where(StockReservation.reference == cut.number)
        )
        assert total == D("60.5")
        preview = allocation.preview(s, spk_id=cut.id)
        assert preview[0].reserved_now == 0 and preview[0].covered_before == D("60.5")


def test_rejected_debt_is_never_settled_and_debt_cap_adds_a_step(make_site: Any) -> None:
    from production_testkit import PLUGINS, make_master_data

    from kernel.db import unit_of_work

    site = make_site(PLUGINS, plugin={"approval": {"amount_caps": {"production.material_debt": "1000"}}})
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
    f = Factory(site=site, **data)
    operator = f.user("Admin Cutting", "Cutting")
    _receive(f, "FAB", "1")  # a purchase price: 1000 per m
    cut = _first_spk(f)
    _post(f, cut.id, 1, "10", operator.username)  # needs 5.5 m, has none: 5.5 m debt worth 5500 >= cap
    with f.session() as s:
        d = s.scalars(select(MaterialDebt)).one()
        assert d.unit_value == D("1000.00")
        roles = list(
            s.scalars(
                select(ApprovalRequestStep.role)
                .where(ApprovalRequestStep.request_id == d.approval_request_id)
                .order_by(ApprovalRequestStep.step)
            )
        )
        assert roles == ["SPV Cutting", "Manager", "Finance Manager"]
        request_id = d.approval_request_id
    spv = f.user("SPV Cutting", "Cutting")
    with f.session() as s:
        approval.decide(
            s,
            request_id=request_id,
            approver_id=spv.id,
            approver_roles=("SPV Cutting",),
            approver_department="Cutting",
            decision="reject",
            note="use the other roll",
        )
    _receive(f, "FAB", "10")
    with f.session() as s:
        d = s.scalars(select(MaterialDebt)).one()
        assert (d.state, d.settled_qty) == ("rejected", 0)
        assert s.scalar(select(func.count(DebtSettlement.id))) == 0
    assert f.on_hand("FAB", "MAIN") == D(11)


def test_erp_metrics_report_output_today_and_open_debt(factory: Factory) -> None:
    from kernel.metrics.exposition import render
    from tests.ops.helpers import value

    f = factory
    operator = f.user("Admin Cutting", "Cutting")
    cut = _first_spk(f)
    _receive(f, "FAB", "10", location="CUTTING")  # bought at 1,000 per meter: debt has a value
    _post(f, cut.id, 1, "4", operator.username)  # yesterday (not today's output): 2.2 m of fabric
    _post(f, cut.id, 0, "20", operator.username)  # today: needs 11 m, 7.8 m left: 3.2 m of debt
    with f.session() as s:
        debts = list(s.scalars(select(MaterialDebt)))
        expected_value = sum((d.quantity - d.settled_qty) * d.unit_value for d in debts)
    scrape = render(f.site).decode()
    assert value(scrape, "erp_production_output_today_pieces", department="Cutting") == 20
    assert value(scrape, "erp_production_open_debts") == len(debts) == 1
    assert value(scrape, "erp_production_open_debt_value_idr") == float(expected_value) == 3200

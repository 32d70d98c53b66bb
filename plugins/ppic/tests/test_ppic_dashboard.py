"""GET /dashboard/real-time equals an independent computation (every figure) on a scenario built through
the other plugins' services: MOs released, SPKs with daily inputs, QC inspections, material debt."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from erp_ppic.alerts import acknowledge, raise_alert, resolve
from erp_ppic.models_live import Alert
from erp_production import mo
from erp_production.daily import site_today
from erp_production.models import DailyInput, ManufacturingOrder, MaterialDebt, Spk
from erp_production.schemas import MoIn
from erp_quality.models import Inspection
from erp_warehouse.models import Product, StockBalance
from erp_warehouse.purchasing import create_po
from erp_warehouse.schemas import PoIn, PoLineIn
from fastapi.testclient import TestClient
from ppic_live_testkit import Plant
from sqlalchemy import select, update

from kernel.app import create_app
from kernel.clock import utcnow
from kernel.testing import create_test_user, drain_events, login_headers

API = "/api/v1/ppic"
D = Decimal
DEPTS = ["Cutting", "Embroidery", "Subcon", "Sewing", "Finishing", "Packing"]


def build_scenario(f: Plant) -> None:
    """Two released MOs in progress (one late), a draft MO, inputs today and earlier, QC today, this
    week and last week, material debt with a value, products below minimum, alerts in every status."""
    op = f.user("Admin Cutting", "Cutting").username
    with f.session() as s:
        today = site_today(s)
        create_po(
            s,
            data=PoIn(
                po_type="fabric",
                supplier_id=f.supplier_id,
                location_id=f.locations["MAIN"],
                lines=[PoLineIn(product_id=f.products["FAB"], quantity=D(100), price=D("25000"))],
            ),
        )
        for code, minimum in (("LBL", "500"), ("THR", "100"), ("FILL", "10")):
            s.execute(update(Product).where(Product.id == f.products[code]).values(min_stock=D(minimum)))
    f.stock_in("FAB", "CUTTING", "30")
    f.stock_in("THR", "EMBROIDERY", "5")
    f.stock_in("LBL", "PACKING", "120")
    f.stock_in("FILL", "FINISHING", "50")
    cut, emb, *_ = f.release(batch="DASH-1", qty="100")
    f.daily_input(cut.id, today - timedelta(days=1), "50", defect="1.5", user=op)
    f.daily_input(cut.id, today, "40", defect="2", rework="1", user=op)  # FAB runs out: debt
    f.deliver(cut.id, "60")
    f.daily_input(emb.id, today, "30", rework="1", user=op)
    late = f.release(batch="DASH-2", qty="20", planned_end=today - timedelta(days=2))
    f.daily_input(late[0].id, today - timedelta(days=3), "5", user=op)
    with f.session() as s:
        mo.create_mo(
            s,
            data=MoIn(
                product_id=f.products["TEDDY"], quantity=D(10), routing="route1", batch_number="DASH-3"
            ),
        )
    tz = ZoneInfo(f.site.settings.timezone)
    monday = today - timedelta(days=today.weekday())
    f.inspect(checkpoint="after_cutting", spk_id=cut.id, inspected="40", passed="36", rework="2", scrap="2")
    f.inspect(checkpoint="after_cutting", spk_id=cut.id, inspected="20", passed="20")
    if monday < today:
        at = datetime.combine(monday, time(9), tzinfo=tz)
        f.inspect(checkpoint="after_cutting", spk_id=cut.id, inspected="30", passed="27", scrap="3", at=at)
    last_week = datetime.combine(monday - timedelta(days=2), time(9), tzinfo=tz)
    f.inspect(
        checkpoint="after_cutting", spk_id=cut.id, inspected="50", passed="10", scrap="40", at=last_week
    )
    with f.session() as s:
        for n, (severity, status) in enumerate(
            [
                ("critical", "pending"),
                ("critical", "acknowledged"),
                ("warning", "pending"),
                ("critical", "resolved"),
                ("info", "pending"),
            ]
        ):
            alert = raise_alert(
                s,
                key=f"dash:{n}",
                type="qc_fail",
                severity=severity,
                subject=f"dash:{n}",
                title=f"alert {n}",
                department="Cutting",
            )
            assert alert is not None
            if status != "pending":
                acknowledge(s, alert_id=alert.id, user="spv")
            if status == "resolved":
                resolve(s, alert_id=alert.id, user="spv", resolution="fixed")


def pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(D("0.01")) if whole else None


def expected_dashboard(f: Plant) -> dict[str, Any]:
    """The dashboard computed from the rows in Python, independently of erp_ppic's queries."""
    with f.session() as s:
        today = site_today(s)
        tz = ZoneInfo(f.site.settings.timezone)
        mos = list(s.scalars(select(ManufacturingOrder)))
        spks = list(s.scalars(select(Spk)))
        inputs = list(s.scalars(select(DailyInput)))
        inspections = list(s.scalars(select(Inspection)))
        debts = list(s.scalars(select(MaterialDebt)))
        products = list(s.scalars(select(Product)))
        balances = list(s.scalars(select(StockBalance)))
        alert_rows = list(s.scalars(select(Alert)))
    mo_state = {m.id: m.state for m in mos}
    mo_of = {m.id: m for m in mos}
    by_spk: dict[int, list[DailyInput]] = defaultdict(list)
    for i in inputs:
        by_spk[i.spk_id].append(i)
    spk_dept = {x.id: x.department for x in spks}

    departments = []
    for dept in DEPTS:
        running = [x for x in spks if x.department == dept and x.state == "in_progress"]
        todays = [i for i in inputs if spk_dept[i.spk_id] == dept and i.work_date == today]
        if not running and not todays:
            continue
        target = sum((x.target for x in running), D(0))
        good = sum((i.good for x in running for i in by_spk[x.id]), D(0))
        departments.append(
            {
                "department": dept,
                "spks_in_progress": len(running),
                "target": target,
                "good_to_date": good,
                "percent_done": pct(good, target),
                "good_today": sum((i.good for i in todays), D(0)),
                "defect_today": sum((i.defect for i in todays), D(0)),
                "rework_today": sum((i.rework for i in todays), D(0)),
            }
        )

    def qc(start: date, end: date) -> dict[str, Any]:
        rows = [
            i
            for i in inspections
            if i.status != "pending"
            and i.inspected_at is not None
            and start <= i.inspected_at.astimezone(tz).date() < end
        ]
        inspected = sum((i.inspected_qty for i in rows), D(0))
        scrap = sum((i.scrap_qty for i in rows), D(0))
        return {
            "inspections": len(rows),
            "failed": len([i for i in rows if i.status == "failed"]),
            "inspected": inspected,
            "passed": sum((i.pass_qty for i in rows), D(0)),
            "rework": sum((i.rework_qty for i in rows), D(0)),
            "scrap": scrap,
            "pass_rate": pct(inspected - scrap, inspected),
        }

    monday = today - timedelta(days=today.weekday())
    open_debts = [d for d in debts if d.state in ("pending", "approved")]
    on_hand: dict[int, Decimal] = defaultdict(lambda: D(0))
    for b in balances:
        on_hand[b.product_id] += b.on_hand
    below = sorted(
        (p for p in products if p.active and on_hand[p.id] < p.min_stock),
        key=lambda p: (-(p.min_stock - on_hand[p.id]), p.code),
    )
    late = []
    for x in spks:
        due = x.deadline or mo_of[x.mo_id].planned_end
        if (
            x.state in ("not_started", "in_progress")
            and mo_state[x.mo_id] != "cancelled"
            and due
            and due < today
        ):
            late.append((due, x))
    late.sort(key=lambda pair: (pair[0], pair[1].id))
    open_alerts = [a for a in alert_rows if a.status in ("pending", "acknowledged")]
    year, week, _ = today.isocalendar()
    return {
        "today": today,
        "week": f"W{week:02d}-{year}",
        "mos_by_state": {
            state: len([m for m in mos if m.state == state])
            for state in ("draft", "released", "in_progress", "done", "cancelled")
        },
        "departments": departments,
        "qc": {"today": qc(today, today + timedelta(days=1)), "week": qc(monday, today + timedelta(days=1))},
        "material_debt": {
            "open": len(open_debts),
            "pending": len([d for d in open_debts if d.state == "pending"]),
            "approved": len([d for d in open_debts if d.state == "approved"]),
            "value": sum(((d.quantity - d.settled_qty) * d.unit_value for d in open_debts), D(0)),
        },
        "shortages": {
            "count": len(below),
            "items": [
                {
                    "product_id": p.id,
                    "code": p.code,
                    "name": p.name,
                    "on_hand": on_hand[p.id],
                    "min_stock": p.min_stock,
                    "missing": p.min_stock - on_hand[p.id],
                }
                for p in below
            ],
        },
        "late_spks": {
            "count": len(late),
            "items": [
                {
                    "spk_id": x.id,
                    "number": x.number,
                    "mo_number": mo_of[x.mo_id].number,
                    "department": x.department,
                    "state": x.state,
                    "due": due,
                    "days_late": (today - due).days,
                    "target": x.target,
                    "good": sum((i.good for i in by_spk[x.id]), D(0)),
                }
                for due, x in late
            ],
        },
        "alerts": {
            "open": len(open_alerts),
            "by_severity": {
                sev: len([a for a in open_alerts if a.severity == sev])
                for sev in ("info", "warning", "critical")
            },
            "by_status": {
                st: len([a for a in open_alerts if a.status == st]) for st in ("pending", "acknowledged")
            },
            "critical": [
                {
                    "id": a.id,
                    "type": a.type,
                    "title": a.title,
                    "department": a.department,
                    "status": a.status,
                    "escalation_level": a.escalation_level,
                    "raised_at": a.raised_at,
                }
                for a in sorted(
                    (a for a in open_alerts if a.severity == "critical"),
                    key=lambda a: (a.raised_at, a.id),
                    reverse=True,
                )
            ],
        },
    }


def parsed(body: dict[str, Any]) -> dict[str, Any]:
    """The response with decimals, dates and datetimes as Python values, for an exact comparison."""
    decimal_keys = {
        "target", "good_to_date", "percent_done", "good_today", "defect_today", "rework_today",
        "inspected", "passed", "rework", "scrap", "pass_rate", "value", "on_hand", "min_stock",
        "missing", "good",
    }  # fmt: skip

    def convert(key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(key, v) for v in value]
        if value is None:
            return None
        if key in decimal_keys:
            return D(value)
        if key in ("today", "due"):
            return date.fromisoformat(value)
        if key in ("raised_at", "as_of"):
            return datetime.fromisoformat(value)
        return value

    return convert("", body)  # type: ignore[no-any-return]


def test_real_time_dashboard_equals_an_independent_computation(plant: Plant) -> None:
    f = plant
    build_scenario(f)
    drain_events(f.site)  # the event-driven alerts (QC fails, shortages) exist before the client starts
    client = TestClient(create_app(f.site.settings, site=f.site))
    with client:
        user, password = create_test_user(f.site, "Security")
        before = utcnow()
        r = client.get(f"{API}/dashboard/real-time", headers=login_headers(client, user.username, password))
        assert r.status_code == 200, r.text
        got = parsed(r.json())
        want = expected_dashboard(f)
        assert before <= got.pop("as_of") <= utcnow()
        assert got == want
        # The scenario exercises every part with non-trivial figures.
        assert got["mos_by_state"]["in_progress"] == 2 and got["mos_by_state"]["draft"] == 1
        assert [d["department"] for d in got["departments"]][:2] == ["Cutting", "Embroidery"]
        assert got["departments"][0]["good_today"] == D(40) and got["departments"][0]["good_to_date"] == D(95)
        assert got["qc"]["today"]["pass_rate"] == D("96.67") and got["qc"]["today"]["failed"] == 1
        assert got["material_debt"]["pending"] == 2 and got["material_debt"]["value"] > 0
        assert {x["code"] for x in got["shortages"]["items"]} == {"LBL", "THR"}
        assert got["late_spks"]["count"] == 5 and got["late_spks"]["items"][0]["good"] == D(5)
        # Seeded: info 1, warning 1, critical 2; from events: a shortage and a QC fail per failed inspection.
        failed = 2 + (1 if got["qc"]["week"]["inspections"] > 2 else 0)
        assert got["alerts"]["by_severity"] == {"info": 1, "warning": 1 + 1 + failed, "critical": 2}
        assert len(got["alerts"]["critical"]) == 2

        assert client.get(f"{API}/dashboard/real-time").status_code == 401
        qc_inspector, password = create_test_user(f.site, "QC Inspector")
        denied = client.get(
            f"{API}/dashboard/real-time", headers=login_headers(client, qc_inspector.username, password)
        )
        assert denied.status_code == 403

"""HTTP: transfers between departments (department scope, idempotency) and purchase orders."""

from __future__ import annotations

from decimal import Decimal

from erp_warehouse.models import Receipt, StockMove, Transfer
from sqlalchemy import func, select

from kernel.audit.models import AuditLog

BASE = "/api/v1/warehouse"
D = Decimal


def fields(resp) -> set[str]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return {e["field"] for e in resp.json().get("errors", [])}


def count(api, model) -> int:
    with api.site.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def audit_actions(api, entity_type: str) -> list[str]:
    with api.site.sessions() as s:
        return list(
            s.scalars(
                select(AuditLog.action).where(AuditLog.entity_type == entity_type).order_by(AuditLog.id)
            )
        )


def transfer_body(api, src="CUTTING", dst="SEWING", qty="100", product="WIP-CUT"):
    return {
        "product_id": api.products[product],
        "from_location_id": api.locations[src],
        "to_location_id": api.locations[dst],
        "quantity": qty,
        "destination": "SE",
    }


def test_transfer_send_is_idempotent_and_scoped_to_the_senders_store(api) -> None:
    api.receive("WIP-CUT", "CUTTING", 300)
    url = f"{BASE}/transfer/inter-dept"
    assert api.client.post(url, json=transfer_body(api), headers=api.as_("Purchasing")).status_code == 403
    sewing = api.as_("Admin Sewing")
    foreign = api.client.post(url, json=transfer_body(api), headers=sewing)
    assert foreign.status_code == 403, foreign.text  # Sewing cannot send out of Cutting's store
    cutting = {**api.as_("SPV Cutting"), "Idempotency-Key": "trf-1"}
    first = api.client.post(url, json=transfer_body(api), headers=cutting)
    assert first.status_code == 201, first.text
    again = api.client.post(url, json=transfer_body(api), headers=cutting)
    assert again.json() == first.json() and again.headers.get("Idempotency-Replayed") == "true"
    assert count(api, Transfer) == 1
    bad = api.client.post(
        url, json={**transfer_body(api), "quantity": "0", "extra": 1}, headers=api.as_("SPV Cutting")
    )
    assert bad.status_code == 422 and {"quantity", "extra"} <= fields(bad)
    to_main = api.client.post(url, json=transfer_body(api, dst="MAIN"), headers=api.as_("Warehouse Admin"))
    assert to_main.status_code == 422 and "to_location_id" in fields(to_main)
    other = api.client.post(
        url, json=transfer_body(api, product="WIP-CUT2"), headers=api.as_("Warehouse Admin")
    )
    assert other.status_code == 409  # line clearance: Sewing still holds the first transfer
    short = api.client.post(url, json=transfer_body(api, qty="1000"), headers=api.as_("Warehouse Admin"))
    assert short.status_code == 409


def test_transfer_acceptance_is_department_scoped(api) -> None:
    api.receive("WIP-CUT", "CUTTING", 100)
    sent = api.client.post(
        f"{BASE}/transfer/inter-dept", json=transfer_body(api), headers=api.as_("Warehouse Operator")
    ).json()
    url = f"{BASE}/transfer/{sent['id']}/accept"
    assert (
        api.client.post(url, json={"received_qty": "100"}, headers=api.as_("Warehouse Operator")).status_code
        == 403
    )
    wrong_dept = api.client.post(url, json={"received_qty": "100"}, headers=api.as_("Admin Cutting"))
    assert wrong_dept.status_code == 403  # Cutting may not accept into Sewing's store
    embroidery = api.as_("Admin Embroidery")
    assert api.client.get(f"{BASE}/transfer/{sent['id']}", headers=embroidery).status_code == 404
    assert api.client.get(f"{BASE}/transfer", headers=embroidery).json()["total"] == 0
    sewing = {**api.as_("Admin Sewing"), "Idempotency-Key": "acc-1"}
    off = api.client.post(url, json={"received_qty": "80"}, headers=api.as_("SPV Sewing"))
    assert off.status_code == 422 and "received_qty" in fields(off)
    ok = api.client.post(url, json={"received_qty": "98"}, headers=sewing)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["state"], D(ok.json()["received_qty"])) == ("accepted", D(98))
    assert api.client.post(url, json={"received_qty": "98"}, headers=sewing).json() == ok.json()
    again = api.client.post(url, json={"received_qty": "98"}, headers=api.as_("SPV Sewing"))
    assert again.status_code == 409
    cancel = api.client.post(f"{BASE}/transfer/{sent['id']}/cancel", headers=api.as_("Warehouse Admin"))
    assert cancel.status_code == 409
    assert (
        api.client.post(
            f"{BASE}/transfer/999999/accept",
            json={"received_qty": "1"},
            headers=sewing | {"Idempotency-Key": "x"},
        ).status_code
        == 404
    )
    assert audit_actions(api, "warehouse.transfer") == ["accept"]
    listed = api.client.get(
        f"{BASE}/transfer", params={"state": "accepted"}, headers=api.as_("SPV Sewing")
    ).json()
    assert [t["id"] for t in listed["items"]] == [sent["id"]]
    bad = api.client.get(f"{BASE}/transfer", params={"state": "lost"}, headers=api.as_("SPV Sewing"))
    assert bad.status_code == 422 and "state" in fields(bad)


def test_transfer_cancel_returns_the_stock(api) -> None:
    api.receive("WIP-CUT", "CUTTING", 100)
    sent = api.client.post(
        f"{BASE}/transfer/inter-dept", json=transfer_body(api, qty="40"), headers=api.as_("SPV Cutting")
    ).json()
    url = f"{BASE}/transfer/{sent['id']}/cancel"
    assert api.client.post(url, headers=api.as_("Admin Sewing")).status_code == 403  # not the sender
    assert api.client.post(url, headers=api.as_("Purchasing")).status_code == 403
    ok = api.client.post(url, headers=api.as_("SPV Cutting"))
    assert ok.status_code == 200 and ok.json()["state"] == "cancelled"
    assert api.client.post(url, headers=api.as_("SPV Cutting")).status_code == 409
    assert (
        api.client.post(f"{BASE}/transfer/999999/cancel", headers=api.as_("Warehouse Admin")).status_code
        == 404
    )
    summary = api.client.get(
        f"{BASE}/stock/summary",
        params={"location_id": api.locations["CUTTING"]},
        headers=api.as_("SPV Cutting"),
    ).json()
    assert [D(r["on_hand"]) for r in summary["items"]] == [D(100)]
    assert audit_actions(api, "warehouse.transfer") == ["cancel"]


def po_body(api, **extra):
    return {
        "po_type": "accessories",
        "supplier_id": api.supplier_id,
        "location_id": api.locations["MAIN"],
        "lines": [{"product_id": api.products["EYES"], "quantity": "100", "price": "150"}],
        **extra,
    }


def test_purchase_order_lifecycle_roles_and_idempotent_receipt(api) -> None:
    create = f"{BASE}/po/create"
    assert (
        api.client.post(create, json=po_body(api), headers=api.as_("Warehouse Operator")).status_code == 403
    )
    bad = api.client.post(create, json=po_body(api, po_type="label", lines=[]), headers=api.as_("Purchasing"))
    assert bad.status_code == 422 and "lines" in fields(bad)
    label = api.client.post(create, json=po_body(api, po_type="label"), headers=api.as_("Purchasing"))
    assert label.status_code == 422 and {"week", "destination"} <= fields(label)
    po = api.client.post(create, json=po_body(api), headers=api.as_("Purchasing"))
    assert po.status_code == 201, po.text
    po = po.json()
    assert (po["state"], len(po["lines"])) == ("draft", 1)
    url = f"{BASE}/po/{po['id']}"
    receipt = {"lines": [{"line_id": po["lines"][0]["id"], "quantity": "60", "lot_code": "B-1"}]}
    wa = api.as_("Warehouse Admin")
    assert api.client.put(f"{url}/receive", json=receipt, headers=wa).status_code == 409  # still a draft
    assert api.client.post(f"{url}/send", headers=api.as_("Purchasing")).status_code == 403
    head = api.as_("Purchasing Head")
    sent = api.client.post(f"{url}/send", headers=head)
    assert sent.status_code == 200 and sent.json()["state"] == "sent"
    assert api.client.post(f"{url}/send", headers=head).status_code == 409
    assert api.client.put(f"{url}/receive", json=receipt, headers=api.as_("Purchasing")).status_code == 403
    bad = api.client.put(f"{url}/receive", json={"lines": [{"line_id": 999999, "quantity": "1"}]}, headers=wa)
    assert bad.status_code == 422 and "lines.0.line_id" in fields(bad)
    keyed = {**wa, "Idempotency-Key": "gr-1"}
    first = api.client.put(f"{url}/receive", json=receipt, headers=keyed)
    assert first.status_code == 200, first.text
    assert first.json()["purchase_order"]["state"] == "received"
    moves = count(api, StockMove)
    again = api.client.put(f"{url}/receive", json=receipt, headers=keyed)
    assert again.json() == first.json() and again.headers.get("Idempotency-Replayed") == "true"
    assert (count(api, StockMove), count(api, Receipt)) == (moves, 1)
    over = api.client.put(
        f"{url}/receive", json={"lines": [{"line_id": po["lines"][0]["id"], "quantity": "41"}]}, headers=wa
    )
    assert over.status_code == 409
    assert api.client.post(f"{url}/cancel", headers=head).status_code == 409  # goods arrived
    assert api.client.delete(url, headers=head).status_code == 409
    assert api.client.post(f"{url}/close", headers=api.as_("Purchasing")).status_code == 403
    closed = api.client.post(f"{url}/close", headers=head)
    assert closed.status_code == 200 and closed.json()["state"] == "done"
    assert api.client.post(f"{url}/close", headers=head).status_code == 409
    detail = api.client.get(url, headers=api.as_("Finance Manager")).json()
    assert D(detail["lines"][0]["received_qty"]) == D(60)
    assert audit_actions(api, "warehouse.purchase_order") == ["create", "send", "receive", "close"]
    for method, path in [
        ("get", ""),
        ("post", "/send"),
        ("post", "/cancel"),
        ("post", "/close"),
        ("delete", ""),
    ]:
        assert getattr(api.client, method)(f"{BASE}/po/999999{path}", headers=head).status_code == 404
    assert api.client.put(f"{BASE}/po/999999/receive", json=receipt, headers=wa).status_code == 404


def test_purchase_order_cancel_delete_and_list(api) -> None:
    buyer, head = api.as_("Purchasing"), api.as_("Purchasing Head")
    ids = [
        api.client.post(f"{BASE}/po/create", json=po_body(api), headers=buyer).json()["id"] for _ in range(3)
    ]
    assert api.client.delete(f"{BASE}/po/{ids[0]}", headers=buyer).status_code == 403
    assert api.client.delete(f"{BASE}/po/{ids[0]}", headers=head).status_code == 204
    assert api.client.get(f"{BASE}/po/{ids[0]}", headers=head).status_code == 404
    assert api.client.post(f"{BASE}/po/{ids[1]}/cancel", headers=head).json()["state"] == "cancelled"
    listed = api.client.get(
        f"{BASE}/po", params={"state": "draft"}, headers=api.as_("Finance Manager")
    ).json()
    assert [p["id"] for p in listed["items"]] == [ids[2]]
    assert api.client.get(f"{BASE}/po", params={"limit": 1}, headers=buyer).json()["total"] == 2
    assert api.client.get(f"{BASE}/po", headers=api.as_("Warehouse Operator")).status_code == 403
    bad = api.client.get(f"{BASE}/po", params={"po_type": "food"}, headers=buyer)
    assert bad.status_code == 422 and "po_type" in fields(bad)
    assert audit_actions(api, "warehouse.purchase_order") == ["create"] * 3 + ["delete", "cancel"]

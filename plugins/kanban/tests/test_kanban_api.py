"""The kanban HTTP API and its WebSocket, through the real app: paths, permissions, scopes, errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kanban_testkit import PLUGINS, Shop
from production_testkit import make_master_data
from starlette.websockets import WebSocketDisconnect

from kernel.db import unit_of_work

D = Decimal
API = "/api/v1/kanban"


@pytest.fixture
def api(make_client: Callable[..., TestClient], auth_headers: Any) -> Any:
    client = make_client(PLUGINS)
    site = client.app.state.site  # type: ignore[attr-defined]
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
    shop = Shop(site=site, **data)
    headers: dict[tuple[str, str | None], dict[str, str]] = {}

    def as_(role: str, department: str | None = None) -> dict[str, str]:
        if (role, department) not in headers:
            headers[(role, department)] = auth_headers(client, role, department)
        return headers[(role, department)]

    return type("Api", (), {"client": client, "shop": shop, "as_": staticmethod(as_)})


def board_of(api: Any, department: str, role: str = "PPIC Manager") -> dict[str, Any]:
    boards = api.client.get(f"{API}/boards", headers=api.as_(role)).json()["items"]
    return next(b for b in boards if b["department"] == department)


def column(board: dict[str, Any], state: str) -> int:
    return next(c["id"] for c in board["columns"] if c["state"] == state)


def test_boards_list_a_board_per_department_with_columns_and_moves(api: Any) -> None:
    resp = api.client.get(f"{API}/boards", headers=api.as_("PPIC Manager"))
    assert resp.status_code == 200
    page = resp.json()
    assert page["total"] == 6 and page["limit"] == 50
    assert [b["department"] for b in page["items"]] == [
        "Cutting", "Embroidery", "Subcon", "Sewing", "Finishing", "Packing"
    ]  # fmt: skip
    sewing = page["items"][3]
    assert [(c["name"], c["state"]) for c in sewing["columns"]] == [
        ("Pending", "pending"),
        ("Approved", "approved"),
        ("In progress", "in_progress"),
        ("Completed", "completed"),
    ]
    ids = [c["id"] for c in sewing["columns"]]
    assert sewing["moves"] == [[ids[0], ids[1]], [ids[1], ids[2]], [ids[2], ids[3]]]
    own = api.client.get(f"{API}/boards", headers=api.as_("Admin Sewing")).json()
    assert [b["department"] for b in own["items"]] == ["Sewing"]
    cutting = board_of(api, "Cutting")
    assert api.client.get(f"{API}/boards/{cutting['id']}", headers=api.as_("Admin Sewing")).status_code == 404
    assert api.client.get(f"{API}/boards", headers=api.as_("QC Inspector")).status_code == 403


def test_create_move_and_read_a_card_with_history_through_the_seed_paths(api: Any) -> None:
    api.shop.stock_in("THR", "MAIN", "30")
    board = board_of(api, "Sewing")
    body = {
        "product_id": api.shop.products["THR"],
        "quantity": "6",
        "priority": "urgent",
        "needed_by": "2020-01-01",
    }
    admin = {**api.as_("Admin Sewing"), "Idempotency-Key": "card-1"}
    first = api.client.post(f"{API}/cards/create", json=body, headers=admin)
    assert first.status_code == 201, first.text
    card = first.json()
    assert (card["state"], card["department"], card["column_id"]) == (
        "pending",
        "Sewing",
        column(board, "pending"),
    )
    again = api.client.post(f"{API}/cards/create", json=body, headers=admin)
    assert (again.status_code, again.json()["id"]) == (201, card["id"])  # replayed, not created twice
    dup = api.client.post(f"{API}/cards/create", json=body, headers=api.as_("Admin Sewing"))
    assert dup.status_code == 409 and card["number"] in dup.json()["detail"]
    cid = card["id"]
    move = f"{API}/cards/{cid}/move"
    skip = api.client.put(
        move, json={"column_id": column(board, "in_progress")}, headers=api.as_("Warehouse Admin")
    )
    assert skip.status_code == 409 and "not an allowed move" in skip.json()["detail"]
    forbidden = api.client.put(
        move, json={"column_id": column(board, "approved")}, headers=api.as_("Admin Sewing")
    )
    assert forbidden.status_code == 403
    approved = api.client.post(f"{API}/cards/{cid}/approve", headers=api.as_("SPV Sewing"))
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    for state in ("in_progress", "completed"):
        resp = api.client.put(
            move, json={"column_id": column(board, state)}, headers=api.as_("Warehouse Operator")
        )
        assert resp.status_code == 200, resp.text
    detail = api.client.get(f"{API}/cards/{cid}", headers=api.as_("Admin Sewing")).json()
    assert detail["state"] == "completed" and detail["move_id"] is not None
    assert [(h["action"], h["to_state"]) for h in detail["history"]] == [
        ("create", "pending"),
        ("approve", "approved"),
        ("move", "in_progress"),
        ("move", "completed"),
    ]
    assert api.shop.on_hand("THR", "SEWING") == D(6)
    assert api.client.get(f"{API}/cards/{cid}", headers=api.as_("Admin Cutting")).status_code == 404


def test_board_detail_groups_cards_by_column_and_filters(api: Any) -> None:
    board = board_of(api, "Sewing")
    ppic = api.as_("PPIC Manager")
    products = api.shop.products
    for product, priority, needed in (
        ("THR", "urgent", "2020-01-01"),
        ("FILL", "low", None),
        ("LBL", "high", None),
    ):
        body = {
            "product_id": products[product],
            "quantity": "2",
            "department": "sewing",
            "priority": priority,
        }
        if needed:
            body["needed_by"] = needed
        assert api.client.post(f"{API}/cards/create", json=body, headers=ppic).status_code == 201
    url = f"{API}/boards/{board['id']}"
    detail = api.client.get(url, headers=ppic).json()
    pending = detail["columns"][0]
    assert pending["column"]["state"] == "pending" and pending["open_count"] == 3
    assert [c["priority"] for c in pending["cards"]] == ["urgent", "high", "low"]
    assert all(col["cards"] == [] for col in detail["columns"][1:])
    only_low = api.client.get(url, params={"priority": "low"}, headers=ppic).json()
    assert [c["product_id"] for c in only_low["columns"][0]["cards"]] == [products["FILL"]]
    overdue = api.client.get(url, params={"overdue": "true"}, headers=ppic).json()
    assert [c["product_id"] for c in overdue["columns"][0]["cards"]] == [products["THR"]]
    by_product = api.client.get(url, params={"product_id": products["LBL"]}, headers=ppic).json()
    assert [c["priority"] for c in by_product["columns"][0]["cards"]] == ["high"]
    listed = api.client.get(f"{API}/cards", params={"limit": 2}, headers=ppic).json()
    assert (listed["total"], len(listed["items"])) == (3, 2)
    assert api.client.get(url, params={"priority": "soon"}, headers=ppic).status_code == 422


def test_wip_limit_refusal_names_the_limit_and_board_management(api: Any) -> None:
    board = board_of(api, "Packing")
    manager = api.as_("PPIC Manager")
    pending = column(board, "pending")
    resp = api.client.patch(
        f"{API}/boards/{board['id']}/columns/{pending}", json={"wip_limit": 1}, headers=manager
    )
    assert resp.status_code == 200 and resp.json()["wip_limit"] == 1
    assert (
        api.client.patch(
            f"{API}/boards/{board['id']}", json={"auto_approve_below": "-1"}, headers=manager
        ).status_code
        == 422
    )
    body = {"product_id": api.shop.products["LBL"], "quantity": "100", "department": "Packing"}
    assert api.client.post(f"{API}/cards/create", json=body, headers=manager).status_code == 201
    body["product_id"] = api.shop.products["FILL"]
    full = api.client.post(f"{API}/cards/create", json=body, headers=manager)
    assert full.status_code == 409
    assert "WIP limit 1" in full.json()["detail"] and full.json()["wip_limit"] == 1
    custom = api.client.post(
        f"{API}/boards",
        json={
            "code": "LINE-7",
            "name": "Sewing line 7",
            "department": "sewing",
            "columns": [
                {"name": "Asked", "state": "pending"},
                {"name": "Queued"},
                {"name": "Picked", "wip_limit": 2},
            ],
            "moves": [
                {"from_column": "Asked", "to_column": "Queued"},
                {"from_column": "Queued", "to_column": "Picked"},
            ],
        },
        headers=manager,
    )
    assert custom.status_code == 201, custom.text
    assert [c["wip_limit"] for c in custom.json()["columns"]] == [None, None, 2]
    bad = api.client.put(
        f"{API}/boards/{custom.json()['id']}/moves",
        json=[{"from_column": "Asked", "to_column": "Nowhere"}],
        headers=manager,
    )
    assert bad.status_code == 422
    assert (
        api.client.post(
            f"{API}/boards", json={"code": "X", "name": "X"}, headers=api.as_("SPV Sewing")
        ).status_code
        == 403
    )


def test_reorder_rules_crud_with_validation_and_permissions(api: Any) -> None:
    wh = api.as_("Warehouse Admin")
    body = {
        "product_id": api.shop.products["THR"],
        "location_id": api.shop.locations["SEWING"],
        "reorder_point": "5",
        "order_qty": "12",
    }
    created = api.client.post(f"{API}/rules", json=body, headers=wh)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert api.client.post(f"{API}/rules", json=body, headers=wh).status_code == 409
    wrong = {**body, "location_id": api.shop.locations["MAIN"]}
    assert api.client.post(f"{API}/rules", json=wrong, headers=wh).status_code == 422
    assert api.client.post(f"{API}/rules", json=body, headers=api.as_("Admin Sewing")).status_code == 403
    patched = api.client.patch(f"{API}/rules/{rid}", json={"reorder_point": "7.5"}, headers=wh)
    assert D(patched.json()["reorder_point"]) == D("7.5")
    assert api.client.get(f"{API}/rules", headers=api.as_("Admin Sewing")).json()["total"] == 1
    assert api.client.get(f"{API}/rules", headers=api.as_("Admin Cutting")).json()["total"] == 0
    assert api.client.delete(f"{API}/rules/{rid}", headers=wh).status_code == 204
    assert api.client.get(f"{API}/rules/{rid}", headers=wh).status_code == 404


def test_websocket_pushes_card_created_and_moved_on_its_board_only(api: Any) -> None:
    board = board_of(api, "Sewing")
    other = board_of(api, "Cutting")
    token = api.as_("Admin Sewing")["Authorization"].split()[1]
    ppic = api.as_("PPIC Manager")
    with api.client.websocket_connect(
        f"/ws/kanban/boards/{board['id']}", subprotocols=["bearer", token]
    ) as ws:
        assert ws.accepted_subprotocol == "bearer"
        time.sleep(0.3)  # subscription in place
        cutting = {"product_id": api.shop.products["FAB"], "quantity": "3", "department": "Cutting"}
        assert api.client.post(f"{API}/cards/create", json=cutting, headers=ppic).status_code == 201
        body = {"product_id": api.shop.products["THR"], "quantity": "3", "department": "Sewing"}
        created = api.client.post(f"{API}/cards/create", json=body, headers=ppic).json()
        message = ws.receive_json()
        assert (message["type"], message["board_id"], message["card"]["id"]) == (
            "card_created",
            board["id"],
            created["id"],
        )
        api.client.post(f"{API}/cards/{created['id']}/approve", headers=api.as_("SPV Sewing"))
        moved = ws.receive_json()
        assert (moved["type"], moved["card"]["state"], moved["card"]["column_id"]) == (
            "card_moved",
            "approved",
            column(board, "approved"),
        )
    assert other["id"] != board["id"]


def test_websocket_refuses_without_permission_and_closes_for_another_departments_board(api: Any) -> None:
    board = board_of(api, "Cutting")
    with (
        pytest.raises(WebSocketDisconnect),
        api.client.websocket_connect(f"/ws/kanban/boards/{board['id']}", headers=api.as_("QC Inspector")),
    ):
        pass
    with api.client.websocket_connect(
        f"/ws/kanban/boards/{board['id']}", headers=api.as_("Admin Sewing")
    ) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4404

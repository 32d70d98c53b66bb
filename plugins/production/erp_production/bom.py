"""Bills of materials: CRUD with validation, per-step requirements and multi-level explosion.

A BOM belongs to a product at one department step. Rules: a product is never its own component; the
graph of active BOMs has no cycle; at most one BOM per (product, department) is active.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from erp_warehouse.models import Product
from erp_warehouse.quantities import round_quantity
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.models import Bom, BomLine, BomVariant
from erp_production.schemas import BomIn
from kernel.audit import record_change
from kernel.errors import Conflict, NotFound, ValidationFailed

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MAX_LEVELS = 20


def get_bom(session: Session, *, bom_id: int) -> Bom:
    """One BOM; NotFound when missing."""
    bom = session.get(Bom, bom_id)
    if bom is None:
        raise NotFound(f"BOM {bom_id} does not exist")
    return bom


def bom_lines(session: Session, *, bom_id: int) -> list[tuple[BomLine, list[BomVariant]]]:
    """The lines of a BOM in order, each with its variants."""
    lines = list(session.scalars(select(BomLine).where(BomLine.bom_id == bom_id).order_by(BomLine.line_no)))
    variants: dict[int, list[BomVariant]] = defaultdict(list)
    if lines:
        stmt = select(BomVariant).where(BomVariant.line_id.in_([x.id for x in lines])).order_by(BomVariant.id)
        for v in session.scalars(stmt):
            variants[v.line_id].append(v)
    return [(line, variants[line.id]) for line in lines]


def active_bom(session: Session, *, product_id: int, department: str | None = None) -> Bom | None:
    """The active BOM of a product at a department (or its only active BOM when no department)."""
    stmt = select(Bom).where(Bom.product_id == product_id, Bom.active)
    if department is not None:
        stmt = stmt.where(Bom.department == department)
    found = list(session.scalars(stmt.order_by(Bom.id).limit(2)))
    if department is None and len(found) > 1:
        raise ValidationFailed(
            f"product {product_id} has active BOMs at several departments; name the department",
            errors=[{"field": "department", "message": "required"}],
        )
    return found[0] if found else None


def list_boms(
    session: Session,
    *,
    product_id: int | None = None,
    department: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Bom], int]:
    """BOMs filtered by product, department and active flag."""
    stmt = select(Bom)
    if product_id is not None:
        stmt = stmt.where(Bom.product_id == product_id)
    if department is not None:
        stmt = stmt.where(Bom.department == department)
    if active is not None:
        stmt = stmt.where(Bom.active == active)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Bom.id).offset(offset).limit(limit))
    return list(rows), total


def _components(data: BomIn) -> set[int]:
    ids = set()
    for line in data.lines:
        ids.add(line.component_id)
        ids.update(v.component_id for v in line.variants)
    return ids


def _active_graph(session: Session, exclude_bom_id: int | None) -> dict[int, set[int]]:
    """product -> components over every active BOM (lines and variants)."""
    graph: dict[int, set[int]] = defaultdict(set)
    stmt = (
        select(Bom.product_id, BomLine.component_id).join(BomLine, BomLine.bom_id == Bom.id).where(Bom.active)
    )
    vstmt = (
        select(Bom.product_id, BomVariant.component_id)
        .join(BomLine, BomLine.bom_id == Bom.id)
        .join(BomVariant, BomVariant.line_id == BomLine.id)
        .where(Bom.active)
    )
    if exclude_bom_id is not None:
        stmt = stmt.where(Bom.id != exclude_bom_id)
        vstmt = vstmt.where(Bom.id != exclude_bom_id)
    for product_id, component_id in [*session.execute(stmt).tuples(), *session.execute(vstmt).tuples()]:
        graph[product_id].add(component_id)
    return graph


def _check_no_cycle(
    session: Session, product_id: int, components: Iterable[int], exclude: int | None
) -> None:
    graph = _active_graph(session, exclude)
    stack, seen = list(components), set()
    while stack:
        node = stack.pop()
        if node == product_id:
            raise ValidationFailed(
                f"this BOM would make product {product_id} a component of itself through its components "
                "(a cycle in the BOMs)",
                errors=[{"field": "lines", "message": "cycle"}],
            )
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, ()))


def _validate(session: Session, data: BomIn, exclude: int | None) -> None:
    errors = []
    ids = _components(data) | {data.product_id}
    known = set(session.scalars(select(Product.id).where(Product.id.in_(ids), Product.active)))
    if data.product_id not in known:
        errors.append({"field": "product_id", "message": "unknown or inactive product"})
    for i, line in enumerate(data.lines):
        if line.component_id not in known:
            errors.append({"field": f"lines.{i}.component_id", "message": "unknown or inactive product"})
        if line.component_id == data.product_id:
            errors.append(
                {"field": f"lines.{i}.component_id", "message": "a product cannot be its own component"}
            )
        share = ZERO
        for j, v in enumerate(line.variants):
            where = f"lines.{i}.variants.{j}"
            if v.component_id not in known:
                errors.append({"field": f"{where}.component_id", "message": "unknown or inactive product"})
            if v.component_id in (data.product_id, line.component_id):
                errors.append(
                    {"field": f"{where}.component_id", "message": "must differ from the product and line"}
                )
            if v.kind == "alternative" and (v.quantity is None) == (v.share_pct is None):
                errors.append(
                    {"field": where, "message": "an alternative needs either quantity or share_pct"}
                )
            if v.kind == "optional" and v.share_pct is not None:
                errors.append({"field": f"{where}.share_pct", "message": "an optional material has no share"})
            share += v.share_pct or ZERO
        if share >= HUNDRED:
            errors.append(
                {"field": f"lines.{i}.variants", "message": "shares must leave part for the main material"}
            )
    if errors:
        raise ValidationFailed("invalid BOM", errors=errors)
    if data.active:
        _check_no_cycle(session, data.product_id, _components(data), exclude)


def _check_single_active(session: Session, product_id: int, department: str, exclude: int | None) -> None:
    # Serialise activations of one product's BOMs by locking the product row.
    session.execute(select(Product.id).where(Product.id == product_id).with_for_update())
    stmt = select(Bom).where(Bom.product_id == product_id, Bom.department == department, Bom.active)
    if exclude is not None:
        stmt = stmt.where(Bom.id != exclude)
    other = session.scalar(stmt.limit(1))
    if other is not None:
        raise Conflict(
            f"product {product_id} already has an active BOM at {department} (BOM {other.id}, revision "
            f"{other.revision}); deactivate it first"
        )


def _write_lines(session: Session, bom: Bom, data: BomIn) -> None:
    for i, line in enumerate(data.lines, start=1):
        row = BomLine(
            bom_id=bom.id,
            line_no=i,
            component_id=line.component_id,
            quantity=line.quantity,
            wastage_pct=line.wastage_pct,
        )
        session.add(row)
        session.flush()
        for v in line.variants:
            session.add(
                BomVariant(
                    line_id=row.id,
                    kind=v.kind,
                    component_id=v.component_id,
                    quantity=v.quantity,
                    share_pct=v.share_pct,
                )
            )
    session.flush()


def _snapshot(data: BomIn) -> dict[str, object]:
    return data.model_dump(mode="json")


def create_bom(session: Session, *, data: BomIn, user: str | None = None) -> Bom:
    """Create a BOM (validated: components exist, no self-component, no cycle, one active per step)."""
    _validate(session, data, None)
    if data.active:
        _check_single_active(session, data.product_id, data.department, None)
    duplicate = session.scalar(
        select(Bom.id).where(
            Bom.product_id == data.product_id,
            Bom.department == data.department,
            Bom.revision == data.revision,
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"revision {data.revision} of this product's {data.department} BOM exists (BOM {duplicate})"
        )
    bom = Bom(
        product_id=data.product_id,
        department=data.department,
        revision=data.revision,
        output_qty=data.output_qty,
        active=data.active,
        note=data.note,
        created_by=user,
    )
    session.add(bom)
    session.flush()
    _write_lines(session, bom, data)
    record_change(
        session, entity_type="production.bom", entity_id=bom.id, action="create", new=_snapshot(data)
    )
    return bom


def update_bom(session: Session, *, bom_id: int, data: BomIn, user: str | None = None) -> Bom:
    """Replace a BOM's header and lines (same validation as create)."""
    bom = session.scalar(select(Bom).where(Bom.id == bom_id).with_for_update())
    if bom is None:
        raise NotFound(f"BOM {bom_id} does not exist")
    _validate(session, data, bom.id)
    if data.active:
        _check_single_active(session, data.product_id, data.department, bom.id)
    old = bom_as_dict(session, bom)
    for line, _ in bom_lines(session, bom_id=bom.id):
        session.delete(line)
    session.flush()
    bom.product_id, bom.department, bom.revision = data.product_id, data.department, data.revision
    bom.output_qty, bom.active, bom.note = data.output_qty, data.active, data.note
    _write_lines(session, bom, data)
    record_change(
        session, entity_type="production.bom", entity_id=bom.id, action="update", old=old, new=_snapshot(data)
    )
    return bom


def set_active(session: Session, *, bom_id: int, active: bool) -> Bom:
    """Activate (validated again: single active, no cycle) or deactivate a BOM."""
    bom = session.scalar(select(Bom).where(Bom.id == bom_id).with_for_update())
    if bom is None:
        raise NotFound(f"BOM {bom_id} does not exist")
    if active and not bom.active:
        _check_single_active(session, bom.product_id, bom.department, bom.id)
        components = {
            c
            for line, vs in bom_lines(session, bom_id=bom.id)
            for c in [line.component_id, *(v.component_id for v in vs)]
        }
        _check_no_cycle(session, bom.product_id, components, bom.id)
    old = bom.active
    bom.active = active
    session.flush()
    record_change(
        session,
        entity_type="production.bom",
        entity_id=bom.id,
        action="activate" if active else "deactivate",
        old={"active": old},
        new={"active": active},
    )
    return bom


def bom_as_dict(session: Session, bom: Bom) -> dict[str, object]:
    """A JSON-able view of a BOM with its lines (for audit rows and responses)."""
    return {
        "product_id": bom.product_id,
        "department": bom.department,
        "revision": bom.revision,
        "output_qty": str(bom.output_qty),
        "active": bom.active,
        "lines": [
            {
                "component_id": line.component_id,
                "quantity": str(line.quantity),
                "wastage_pct": str(line.wastage_pct),
                "variants": [
                    {
                        "kind": v.kind,
                        "component_id": v.component_id,
                        "quantity": None if v.quantity is None else str(v.quantity),
                        "share_pct": None if v.share_pct is None else str(v.share_pct),
                    }
                    for v in vs
                ],
            }
            for line, vs in bom_lines(session, bom_id=bom.id)
        ],
    }


# --- requirements ----------------------------------------------------------------------------------


def unit_requirements(session: Session, *, bom: Bom) -> dict[int, Decimal]:
    """Exact material per one unit of output: qty x (1 + wastage%) / output, split over alternatives.

    An alternative with a share takes that share of the line; one with its own quantity replaces the
    same share of nothing (it is required in addition, at its quantity). Optional materials are not
    required. Unrounded: callers round once, after multiplying by the quantity.
    """
    return per_unit_requirements(output_qty=bom.output_qty, lines=bom_lines(session, bom_id=bom.id))


def per_unit_requirements(
    *, output_qty: Decimal, lines: Iterable[tuple[BomLine, Iterable[BomVariant]]]
) -> dict[int, Decimal]:
    """The rule of :func:`unit_requirements` on lines already loaded (for callers that bulk-load BOMs)."""
    per_unit: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line, variants in lines:
        factor = (1 + line.wastage_pct / HUNDRED) / output_qty
        main_share = HUNDRED
        for v in variants:
            if v.kind != "alternative":
                continue
            if v.share_pct is not None:
                per_unit[v.component_id] += line.quantity * factor * v.share_pct / HUNDRED
                main_share -= v.share_pct
            elif v.quantity is not None:
                per_unit[v.component_id] += v.quantity * factor
        per_unit[line.component_id] += line.quantity * factor * main_share / HUNDRED
    return dict(per_unit)


def requirements(session: Session, *, bom: Bom, quantity: Decimal) -> dict[int, Decimal]:
    """Materials needed for ``quantity`` of the BOM's product, each rounded half-up to four places."""
    return {p: round_quantity(q * quantity) for p, q in unit_requirements(session, bom=bom).items()}


@dataclass
class ExplodedLine:
    """A row of an explosion."""

    level: int
    product_id: int
    department: str
    quantity: Decimal
    has_bom: bool


def explode(
    session: Session, *, product_id: int, quantity: Decimal, department: str | None = None
) -> tuple[list[ExplodedLine], dict[int, Decimal]]:
    """Explode a product's BOM for ``quantity`` through every level of WIP components.

    Returns every row (level 1 = direct components) and the totals of the leaf materials.
    """
    bom = active_bom(session, product_id=product_id, department=department)
    if bom is None:
        raise NotFound(
            f"product {product_id} has no active BOM" + (f" at {department}" if department else "")
        )
    rows: list[ExplodedLine] = []
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)

    def walk(current: Bom, qty: Decimal, level: int) -> None:
        if level > MAX_LEVELS:
            raise Conflict(f"BOM explosion deeper than {MAX_LEVELS} levels; check the BOMs for a cycle")
        for component, need in requirements(session, bom=current, quantity=qty).items():
            sub = active_bom(session, product_id=component) if _has_active(session, component) else None
            rows.append(ExplodedLine(level, component, current.department, need, sub is not None))
            if sub is not None:
                walk(sub, need, level + 1)
            else:
                totals[component] += need

    walk(bom, quantity, 1)
    return rows, dict(totals)


def _has_active(session: Session, product_id: int) -> bool:
    return session.scalar(select(func.count(Bom.id)).where(Bom.product_id == product_id, Bom.active)) == 1

"""Master data: products, categories, units, partners, locations, lots.

One set of functions serves every kind (list with filters, sort and pages; create; read; update;
deactivate; CSV import and export), driven by a small description of each kind. Records are never
deleted: stock and documents refer to them, so they are deactivated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from erp_warehouse.models import Category, Location, Lot, Partner, Product, Unit
from erp_warehouse.schemas import CategoryIn, LocationIn, LotIn, PartnerIn, ProductIn, UnitIn
from kernel.audit import record_change
from kernel.db import Base
from kernel.errors import Conflict, NotFound, ValidationFailed


@dataclass(frozen=True)
class Kind:
    """How one kind of master data is stored, validated, filtered and written to CSV."""

    model: type[Base]
    schema: type[BaseModel]
    natural_key: tuple[str, ...]
    refs: Mapping[str, type[Base]]
    """Reference fields (``unit_id``) and the model they point to; in CSV files they hold codes."""
    filters: tuple[str, ...]
    label: str


KINDS: dict[str, Kind] = {
    "units": Kind(Unit, UnitIn, ("code",), {}, ("active",), "unit"),
    "categories": Kind(Category, CategoryIn, ("code",), {}, ("active",), "category"),
    "products": Kind(
        Product,
        ProductIn,
        ("code",),
        {"unit_id": Unit, "category_id": Category},
        ("type", "unit_id", "category_id", "active"),
        "product",
    ),
    "partners": Kind(Partner, PartnerIn, ("code",), {}, ("kind", "active"), "partner"),
    "locations": Kind(
        Location,
        LocationIn,
        ("code",),
        {"parent_id": Location},
        ("kind", "parent_id", "department", "active"),
        "location",
    ),
    "lots": Kind(
        Lot,
        LotIn,
        ("product_id", "code"),
        {"product_id": Product, "supplier_id": Partner},
        ("product_id", "supplier_id", "purchase_order_id", "active"),
        "lot",
    ),
}


def kind_of(name: str) -> Kind:
    """The description of a master-data kind; NotFound for an unknown one."""
    try:
        return KINDS[name]
    except KeyError:
        raise NotFound(f"unknown master data {name!r}; one of {', '.join(KINDS)}") from None


def list_records(
    session: Session,
    *,
    kind: str,
    limit: int = 50,
    offset: int = 0,
    filters: Mapping[str, str] | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> tuple[list[Any], int]:
    """One page of records with the total count; ``sort`` is a column, ``-column`` for descending."""
    spec = kind_of(kind)
    model: Any = spec.model
    stmt = select(model)
    errors = []
    for name, raw in (filters or {}).items():
        if name not in spec.filters:
            errors.append({"field": name, "message": f"cannot filter on {name}"})
            continue
        column = getattr(model, name)
        if name == "active":
            stmt = stmt.where(column.is_(raw.lower() in ("1", "true", "yes")))
        elif name.endswith("_id"):
            if not raw.isdigit():
                errors.append({"field": name, "message": "must be an id"})
                continue
            stmt = stmt.where(column == int(raw))
        else:
            stmt = stmt.where(column == raw)
    if search:
        pattern = f"%{search.lower()}%"
        conditions = [func.lower(model.code).like(pattern)]
        if hasattr(model, "name"):
            conditions.append(func.lower(model.name).like(pattern))
        stmt = stmt.where(or_(*conditions))
    order = model.id
    if sort:
        column_name = sort.lstrip("-")
        if column_name not in model.__table__.c:
            errors.append({"field": "sort", "message": f"unknown column {column_name}"})
        else:
            column = getattr(model, column_name)
            order = column.desc() if sort.startswith("-") else column.asc()
    if errors:
        raise ValidationFailed("invalid list parameters", errors=errors)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(order, model.id).offset(offset).limit(limit))
    return list(rows), total


def get_record(session: Session, *, kind: str, record_id: int) -> Any:
    """One record; NotFound when it does not exist."""
    spec = kind_of(kind)
    record = session.get(spec.model, record_id)
    if record is None:
        raise NotFound(f"{spec.label} {record_id} does not exist")
    return record


def _check_refs(
    session: Session, spec: Kind, data: Mapping[str, Any], prefix: str = ""
) -> list[dict[str, Any]]:
    errors = []
    for name, target in spec.refs.items():
        value = data.get(name)
        if value is not None and session.get(target, value) is None:
            errors.append(
                {"field": prefix + name, "message": f"{target.__tablename__} {value} does not exist"}
            )
    return errors


def _duplicate(session: Session, spec: Kind, data: Mapping[str, Any], exclude_id: int | None) -> bool:
    model: Any = spec.model
    stmt = select(model.id).where(*(getattr(model, k) == data[k] for k in spec.natural_key))
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return session.scalar(stmt.limit(1)) is not None


def create_record(session: Session, *, kind: str, data: BaseModel) -> Any:
    """Create a record from validated input; Conflict when its code is taken."""
    spec = kind_of(kind)
    values = data.model_dump()
    errors = _check_refs(session, spec, values)
    if errors:
        raise ValidationFailed(f"invalid {spec.label}", errors=errors)
    if _duplicate(session, spec, values, None):
        raise Conflict(f"a {spec.label} with this {'/'.join(spec.natural_key)} already exists")
    record: Any = spec.model(**values)
    session.add(record)
    session.flush()
    record_change(
        session,
        entity_type=f"warehouse.{spec.label}",
        entity_id=record.id,
        action="create",
        new={k: _plain(v) for k, v in values.items()},
    )
    return record


def update_record(session: Session, *, kind: str, record_id: int, changes: Mapping[str, Any]) -> Any:
    """Change some fields of a record; the result is validated as a whole, like a new record."""
    spec = kind_of(kind)
    record = get_record(session, kind=kind, record_id=record_id)
    current = {name: getattr(record, name) for name in spec.schema.model_fields}
    try:
        merged = spec.schema.model_validate({**current, **changes}).model_dump()
    except ValidationError as exc:
        raise ValidationFailed(f"invalid {spec.label}", errors=_pydantic_errors(exc)) from None
    errors = _check_refs(session, spec, merged)
    if kind == "locations" and merged.get("parent_id") == record_id:
        errors.append({"field": "parent_id", "message": "a location cannot be its own parent"})
    if errors:
        raise ValidationFailed(f"invalid {spec.label}", errors=errors)
    if _duplicate(session, spec, merged, record_id):
        raise Conflict(f"a {spec.label} with this {'/'.join(spec.natural_key)} already exists")
    old = {name: _plain(getattr(record, name)) for name in merged}
    for name, value in merged.items():
        setattr(record, name, value)
    session.flush()
    new = {name: _plain(getattr(record, name)) for name in merged}
    changed = [name for name in merged if old[name] != new[name]]
    if changed:
        record_change(
            session,
            entity_type=f"warehouse.{spec.label}",
            entity_id=record_id,
            action="update",
            old={k: old[k] for k in changed},
            new={k: new[k] for k in changed},
        )
    return record


def deactivate_record(session: Session, *, kind: str, record_id: int) -> Any:
    """Mark a record inactive (records are never deleted: the ledger refers to them)."""
    record = get_record(session, kind=kind, record_id=record_id)
    if record.active:
        record.active = False
        session.flush()
        record_change(
            session,
            entity_type=f"warehouse.{kind_of(kind).label}",
            entity_id=record_id,
            action="deactivate",
            old={"active": True},
            new={"active": False},
        )
    return record


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a column value for the audit trail."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _pydantic_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"field": prefix + ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]


# --- CSV -----------------------------------------------------------------------------------------


def _columns(spec: Kind) -> list[str]:
    return [name.removesuffix("_id") if name in spec.refs else name for name in spec.schema.model_fields]


def _codes(session: Session, target: Any) -> dict[int, str]:
    return dict(session.execute(select(target.id, target.code)).tuples().all())


def export_csv(session: Session, *, kind: str) -> Iterator[str]:
    """Every record of a kind as CSV (references written as codes), streamed line by line."""
    spec = kind_of(kind)
    model: Any = spec.model
    codes = {name: _codes(session, target) for name, target in spec.refs.items()}
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(["id", *_columns(spec)])
    yield flush()
    for record in session.scalars(select(model).order_by(model.id)).yield_per(500):
        row: list[Any] = [record.id]
        for name in spec.schema.model_fields:
            value = getattr(record, name)
            if name in spec.refs:
                value = codes[name].get(value, "") if value is not None else ""
            row.append("" if value is None else value)
        writer.writerow(row)
        yield flush()


def import_csv(session: Session, *, kind: str, text: str) -> dict[str, int]:
    """Create or update (by natural key) every row of a CSV file, all or nothing.

    Columns are the input fields, references given by code (``unit`` = ``M``). Every bad cell is
    reported as ``{row, field, message}``; when any row is bad nothing is written.
    """
    spec = kind_of(kind)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = _columns(spec)
    unknown = [c for c in reader.fieldnames or [] if c not in columns and c != "id"]
    if not reader.fieldnames or unknown:
        raise ValidationFailed(
            "the CSV header does not match",
            errors=[{"row": 1, "field": c, "message": "unknown column"} for c in unknown]
            or [{"row": 1, "field": "", "message": f"expected columns: {', '.join(columns)}"}],
        )
    ids = {
        name: {code: i for i, code in _codes(session, target).items()} for name, target in spec.refs.items()
    }
    errors: list[dict[str, Any]] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for number, raw in enumerate(reader, start=2):
        values: dict[str, Any] = {}
        for name in spec.schema.model_fields:
            column = name.removesuffix("_id") if name in spec.refs else name
            cell = (raw.get(column) or "").strip()
            if cell == "":
                continue
            if name in spec.refs:
                if cell not in ids[name]:
                    errors.append({"row": number, "field": column, "message": f"unknown code {cell!r}"})
                    continue
                values[name] = ids[name][cell]
            else:
                values[name] = cell
        try:
            clean = spec.schema.model_validate(values).model_dump()
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"])
                field = field.removesuffix("_id") if field in spec.refs else field
                errors.append({"row": number, "field": field, "message": err["msg"]})
            continue
        key = tuple(clean[k] for k in spec.natural_key)
        if key in seen:
            errors.append(
                {"row": number, "field": spec.natural_key[-1], "message": f"duplicate of row {seen[key]}"}
            )
            continue
        seen[key] = number
        rows.append((number, clean))
    if errors:
        raise ValidationFailed(f"{len(errors)} error(s) in the CSV file; nothing was imported", errors=errors)
    model: Any = spec.model
    created = updated = 0
    for _, clean in rows:
        existing = session.scalar(
            select(model).where(*(getattr(model, k) == clean[k] for k in spec.natural_key))
        )
        if existing is None:
            session.add(model(**clean))
            created += 1
        else:
            for name, value in clean.items():
                setattr(existing, name, value)
            updated += 1
    session.flush()
    return {"created": created, "updated": updated}

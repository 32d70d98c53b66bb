"""Master data: list, create, read, update, deactivate, CSV import and export, for every kind.

One set of routes per kind (``/products``, ``/categories``, ``/units``, ``/partners``, ``/locations``,
``/lots``), built from the kind's input and output schemas, plus unit conversions. Records are never
deleted (stock and documents refer to them): they are deactivated.
"""

# No ``from __future__ import annotations``: the routes are built in a loop and FastAPI must see the
# per-kind schema classes themselves, not strings.

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, create_model

from erp_warehouse import masterdata, units
from erp_warehouse import permissions as perm
from erp_warehouse.routes.common import page_of, stream_with_session
from erp_warehouse.schemas import (
    CategoryIn,
    CategoryOut,
    ImportResult,
    LocationIn,
    LocationOut,
    LotIn,
    LotOut,
    PartnerIn,
    PartnerOut,
    ProductIn,
    ProductOut,
    UnitConversionIn,
    UnitConversionOut,
    UnitIn,
    UnitOut,
)
from kernel.deps import SessionDep, SiteDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(tags=["warehouse: master data"])

KINDS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "products": (ProductIn, ProductOut),
    "categories": (CategoryIn, CategoryOut),
    "units": (UnitIn, UnitOut),
    "partners": (PartnerIn, PartnerOut),
    "locations": (LocationIn, LocationOut),
    "lots": (LotIn, LotOut),
}

View = Annotated[Principal, Depends(require(perm.MASTER_VIEW))]
Create = Annotated[Principal, Depends(require(perm.MASTER_CREATE))]
Update = Annotated[Principal, Depends(require(perm.MASTER_UPDATE))]
Deactivate = Annotated[Principal, Depends(require(perm.MASTER_DEACTIVATE))]
Import = Annotated[Principal, Depends(require(perm.MASTER_IMPORT))]
Export = Annotated[Principal, Depends(require(perm.MASTER_EXPORT))]


def _patch_model(schema: type[BaseModel]) -> type[BaseModel]:
    """The schema with every field optional: a PATCH body names only what changes."""
    fields: dict[str, Any] = {
        name: (field.rebuild_annotation() | None, None) for name, field in schema.model_fields.items()
    }
    return create_model(
        f"{schema.__name__.removesuffix('In')}Patch",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Fields of a {schema.__name__.removesuffix('In').lower()} to change.",
        **fields,
    )


# Unit conversions first: "/units/conversions" must not be taken for a unit id.


@router.get("/units/conversions", response_model=Page[UnitConversionOut])
def list_conversions(
    session: SessionDep, page: PageDep, principal: View, product_id: int | None = None
) -> Page[UnitConversionOut]:
    """Unit conversions (general ones and product-specific ones)."""
    rows, total = units.list_conversions(session, product_id=product_id, limit=page.limit, offset=page.offset)
    return page_of([UnitConversionOut.model_validate(r) for r in rows], total, page)


@router.post("/units/conversions", status_code=201, response_model=UnitConversionOut)
def create_conversion(body: UnitConversionIn, session: SessionDep, principal: Create) -> UnitConversionOut:
    """Declare ``1 from_unit = factor to_unit`` (409 when it exists)."""
    return UnitConversionOut.model_validate(units.create_conversion(session, data=body))


def _add_kind(kind: str, schema_in: type[BaseModel], schema_out: type[BaseModel]) -> None:
    label = masterdata.kind_of(kind).label
    patch = _patch_model(schema_in)

    def list_records(
        session: SessionDep,
        page: PageDep,
        principal: View,
        search: Annotated[str | None, Query(max_length=100, description="Part of the code or name.")] = None,
        sort: Annotated[str | None, Query(max_length=40, description="A column; -column descending.")] = None,
        filter: Annotated[
            list[str] | None, Query(description="column=value, repeatable (e.g. active=true).")
        ] = None,
    ) -> Any:
        filters = dict(item.partition("=")[::2] for item in filter or [])
        rows, total = masterdata.list_records(
            session,
            kind=kind,
            limit=page.limit,
            offset=page.offset,
            filters=filters,
            search=search,
            sort=sort,
        )
        return page_of([schema_out.model_validate(r) for r in rows], total, page)

    def create_record(body: schema_in, session: SessionDep, principal: Create) -> Any:  # type: ignore[valid-type]
        return schema_out.model_validate(masterdata.create_record(session, kind=kind, data=body))

    def export_records(site: SiteDep, principal: Export) -> StreamingResponse:
        return StreamingResponse(
            stream_with_session(site.sessions, masterdata.export_csv, kind=kind),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
        )

    def import_records(
        session: SessionDep,
        principal: Import,
        body: Annotated[str, Body(media_type="text/csv", description="The CSV file (UTF-8).")],
    ) -> ImportResult:
        return ImportResult(**masterdata.import_csv(session, kind=kind, text=body))

    def get_record(record_id: int, session: SessionDep, principal: View) -> Any:
        return schema_out.model_validate(masterdata.get_record(session, kind=kind, record_id=record_id))

    def update_record(record_id: int, body: patch, session: SessionDep, principal: Update) -> Any:  # type: ignore[valid-type]
        changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        record = masterdata.update_record(session, kind=kind, record_id=record_id, changes=changes)
        return schema_out.model_validate(record)

    def deactivate_record(record_id: int, session: SessionDep, principal: Deactivate) -> Any:
        return schema_out.model_validate(
            masterdata.deactivate_record(session, kind=kind, record_id=record_id)
        )

    tags: list[str | Any] = [f"warehouse: {kind}"]
    add = router.add_api_route
    add(
        f"/{kind}",
        list_records,
        methods=["GET"],
        response_model=Page[schema_out],  # type: ignore[valid-type]
        tags=tags,
        summary=f"List {kind}",
        description=f"{kind.title()}, filtered, searched, sorted and paginated.",
    )
    add(
        f"/{kind}",
        create_record,
        methods=["POST"],
        status_code=201,
        response_model=schema_out,
        tags=tags,
        summary=f"Create a {label}",
        description=f"Create a {label} (409 when its code is taken).",
    )
    add(
        f"/{kind}/export",
        export_records,
        methods=["GET"],
        tags=tags,
        summary=f"Export {kind} as CSV",
        description="Every record as CSV (references as codes), streamed.",
        responses={200: {"content": {"text/csv": {}}}},
    )
    add(
        f"/{kind}/import",
        import_records,
        methods=["POST"],
        response_model=ImportResult,
        tags=tags,
        summary=f"Import {kind} from CSV",
        description="Create or update by code, all or nothing; every bad cell is a field error (422).",
    )
    add(
        f"/{kind}/{{record_id}}",
        get_record,
        methods=["GET"],
        response_model=schema_out,
        tags=tags,
        summary=f"Read a {label}",
        description=f"One {label} (404 when it does not exist).",
    )
    add(
        f"/{kind}/{{record_id}}",
        update_record,
        methods=["PATCH"],
        response_model=schema_out,
        tags=tags,
        summary=f"Change a {label}",
        description="Change some fields; the result is validated as a whole.",
    )
    add(
        f"/{kind}/{{record_id}}/deactivate",
        deactivate_record,
        methods=["POST"],
        response_model=schema_out,
        tags=tags,
        summary=f"Deactivate a {label}",
        description="Records are never deleted, only deactivated.",
    )


for _kind, (_in, _out) in KINDS.items():
    _add_kind(_kind, _in, _out)

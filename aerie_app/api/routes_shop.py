"""Shop routes: machines, stock, the shop's settings (weight limit), the weight budget, the cut list.

Reads take any key; writes to machines, stock and settings take an admin key. Field errors in
a machine, stock or settings body are 422 (well-formed JSON, a value Aerie cannot take).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse

from aerie_app.api.boundary import parse_id
from aerie_app.api.deps import Admin, Reader, SessionDep
from aerie_app.models import Process, StockKind
from aerie_app.services.shop import config, cutlist, inputs, machines, stock, weight

router = APIRouter(tags=["shop"])

MACHINE_BODY = {
    "name": "Router",
    "process": "router",
    "envelopeMm": {"x": "24 in", "y": "48 in", "z": 50.8},
    "materials": ["6061 aluminium", "polycarbonate", "HDPE"],
    "maxThicknessMm": 25.4,
    "marginMm": 6.35,
    "enabled": True,
}
STOCK_BODY = {
    "material": "6061 aluminium",
    "thickness": '1/4"',
    "kind": "sheet",
    "sizeMm": {"x": "24 in", "y": "48 in"},
    "count": 2,
}
MachineBody = Annotated[
    dict[str, Any] | None, Body(openapi_examples={"machine": {"value": MACHINE_BODY}})
]
StockBody = Annotated[
    dict[str, Any] | None, Body(openapi_examples={"stock": {"value": STOCK_BODY}})
]
SettingsBody = Annotated[
    dict[str, Any] | None, Body(openapi_examples={"limit": {"value": {"weightLimitLb": 125}}})
]


def _machine_id(raw: str) -> int:
    return parse_id(raw, "Machine not found")


def _stock_id(raw: str) -> int:
    return parse_id(raw, "Stock item not found")


@router.get("/api/machines", summary="The shop's machines")
def list_machines(session: SessionDep, _: Reader) -> dict[str, Any]:
    return {"machines": [machines.machine_public(m) for m in machines.list_machines(session)]}


@router.post(
    "/api/machines", status_code=201, summary="Add a machine (every part's fit is recomputed)"
)
def create_machine(session: SessionDep, _: Admin, body: MachineBody = None) -> JSONResponse:
    data = inputs.machine_input(body, partial=False)
    machine, changed = machines.create_machine(session, data=data)
    return _with_count(machines.machine_public(machine), changed, 201)


@router.get("/api/machines/{machine_id}", summary="One machine")
def get_machine(session: SessionDep, _: Reader, machine_id: str) -> dict[str, Any]:
    return machines.machine_public(machines.get_machine(session, _machine_id(machine_id)))


def _update_machine(
    session: SessionDep, machine_id: str, body: dict[str, Any] | None
) -> JSONResponse:
    current = machines.get_machine(session, _machine_id(machine_id))
    data = inputs.machine_input(body, partial=True, current_process=Process(current.process))
    machine, changed = machines.update_machine(session, _machine_id(machine_id), data=data)
    return _with_count(machines.machine_public(machine), changed)


@router.patch("/api/machines/{machine_id}", summary="Change some of a machine's values")
def patch_machine(
    session: SessionDep, _: Admin, machine_id: str, body: MachineBody = None
) -> JSONResponse:
    return _update_machine(session, machine_id, body)


@router.put("/api/machines/{machine_id}", summary="Change a machine (the fields given)")
def put_machine(
    session: SessionDep, _: Admin, machine_id: str, body: MachineBody = None
) -> JSONResponse:
    return _update_machine(session, machine_id, body)


@router.delete(
    "/api/machines/{machine_id}", summary="Delete a machine (parts it made are judged again)"
)
def delete_machine(session: SessionDep, _: Admin, machine_id: str) -> dict[str, Any]:
    changed = machines.delete_machine(session, _machine_id(machine_id))
    return {"message": "Machine deleted", "partsChanged": changed}


@router.get("/api/stock", summary="Stock on hand")
def list_stock(session: SessionDep, _: Reader) -> dict[str, Any]:
    return {"stock": [stock.stock_public(s) for s in stock.list_stock(session)]}


@router.post(
    "/api/stock",
    status_code=201,
    summary="Add a stock item (every part's stock match is recomputed)",
)
def create_stock(session: SessionDep, _: Admin, body: StockBody = None) -> JSONResponse:
    item, changed = stock.create_stock(session, data=inputs.stock_input(body, partial=False))
    return _with_count(stock.stock_public(item), changed, 201)


@router.get("/api/stock/{stock_id}", summary="One stock item")
def get_stock(session: SessionDep, _: Reader, stock_id: str) -> dict[str, Any]:
    return stock.stock_public(stock.get_stock(session, _stock_id(stock_id)))


def _update_stock(session: SessionDep, stock_id: str, body: dict[str, Any] | None) -> JSONResponse:
    current = stock.get_stock(session, _stock_id(stock_id))
    data = inputs.stock_input(body, partial=True, current_kind=StockKind(current.kind))
    item, changed = stock.update_stock(session, _stock_id(stock_id), data=data)
    return _with_count(stock.stock_public(item), changed)


@router.patch("/api/stock/{stock_id}", summary="Change some of a stock item's values")
def patch_stock(
    session: SessionDep, _: Admin, stock_id: str, body: StockBody = None
) -> JSONResponse:
    return _update_stock(session, stock_id, body)


@router.put("/api/stock/{stock_id}", summary="Change a stock item (the fields given)")
def put_stock(session: SessionDep, _: Admin, stock_id: str, body: StockBody = None) -> JSONResponse:
    return _update_stock(session, stock_id, body)


@router.delete("/api/stock/{stock_id}", summary="Delete a stock item")
def delete_stock(session: SessionDep, _: Admin, stock_id: str) -> dict[str, Any]:
    changed = stock.delete_stock(session, _stock_id(stock_id))
    return {"message": "Stock item deleted", "partsChanged": changed}


def _with_count(body: dict[str, Any], changed: int, status: int = 200) -> JSONResponse:
    """The row, and how many parts' fit or stock match the change moved (a header: the body is
    the row as GET returns it)."""
    return JSONResponse(body, status_code=status, headers={"X-Aerie-Parts-Changed": str(changed)})


@router.get("/api/settings/shop", summary="The shop's settings: the robot weight limit")
def get_shop_settings(session: SessionDep, _: Reader) -> dict[str, Any]:
    return config.shop_settings_public(session)


@router.put("/api/settings/shop", summary="Set the robot weight limit (kg or lb)")
def put_shop_settings(session: SessionDep, _: Admin, body: SettingsBody = None) -> dict[str, Any]:
    return config.update_shop_settings(session, body=body)


@router.get(
    "/api/stats/weight", summary="Weight budget: mass per subsystem and in total vs the limit"
)
def weight_budget(session: SessionDep, _: Reader) -> dict[str, Any]:
    return weight.weight_budget(session)


@router.get(
    "/api/cutlist",
    summary="Cut list of the fab queue: per material and thickness, with sheets needed",
)
def cut_list(session: SessionDep, _: Reader) -> dict[str, Any]:
    return cutlist.cut_list(session)


@router.get(
    "/api/cutlist.csv", summary="The cut list as CSV (one line per part)", response_model=None
)
def cut_list_csv(session: SessionDep, _: Reader) -> Response:
    return Response(
        cutlist.cut_list_csv(session),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="cutlist.csv"'},
    )

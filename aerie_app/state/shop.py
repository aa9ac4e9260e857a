"""The shop's settings as state: machines, stock on hand and the robot weight limit.

Everyone signed in sees them; only an admin changes them, and every write handler checks the
admin scope itself (hidden buttons are not a permission). A form is turned into the REST API's
body and validated by the same ``services.shop.inputs`` functions, so a value the API refuses
is refused here with the same message, shown under its field. Saving a machine or stock item
recomputes every part's fit and stock match (the service does it, in the same transaction).
The page that shows all this is ``pages/shop_settings.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.errors import AerieError, ValidationFailed
from aerie_app.models import Machine, Process, Scope, StockItem, StockKind
from aerie_app.services.shop import config, inputs, machines, stock
from aerie_app.state.auth import AuthState
from aerie_app.units import is_inch_size, length_label, number, thickness_label

PROCESS_LABELS: dict[str, str] = {
    Process.ROUTER.value: "CNC router",
    Process.LASER.value: "Laser cutter",
    Process.WATERJET.value: "Waterjet",
    Process.LATHE.value: "Lathe",
    Process.MILL.value: "Mill",
    Process.PRINTER.value: "3D printer",
    Process.HAND.value: "Hand tools",
}
MACHINE_FORM = {
    "name": "",
    "process": Process.ROUTER.value,
    "x": "",
    "y": "",
    "z": "",
    "materials": "",
    "min_t": "",
    "max_t": "",
    "margin": "0",
    "enabled": "on",
}
STOCK_FORM = {
    "material": "",
    "kind": StockKind.SHEET.value,
    "thickness": "",
    "x": "",
    "y": "",
    "count": "1",
}
# The API's field names (InvalidValue.details["field"]) → the form's fields.
MACHINE_ERRORS = {
    "name": "name",
    "process": "process",
    "envelopeMm": "x",
    "envelopeMm.x": "x",
    "envelopeMm.diameter": "x",
    "envelopeMm.y": "y",
    "envelopeMm.length": "y",
    "envelopeMm.z": "z",
    "units": "x",
    "materials": "materials",
    "minThicknessMm": "min_t",
    "maxThicknessMm": "max_t",
    "marginMm": "margin",
}
STOCK_ERRORS = {
    "material": "material",
    "kind": "kind",
    "thickness": "thickness",
    "sizeMm": "x",
    "sizeMm.x": "x",
    "sizeMm.length": "x",
    "sizeMm.y": "y",
    "count": "count",
}


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _length_text(mm: float | None) -> str:
    """A stored length as a form shows it: ``24 in`` for a whole number of eighths, else mm."""
    if mm is None:
        return ""
    return length_label(mm, "in" if is_inch_size(mm) else "mm")


def machine_body(values: dict[str, str]) -> dict[str, Any]:
    """The REST API's machine body from the form's text (lengths stay text: "24 in", "600")."""
    process = values.get("process", "")
    x, y, z = (_text(values.get(k)) for k in ("x", "y", "z"))
    envelope: dict[str, Any] | None = (
        {"diameter": x, "length": y} if process == Process.LATHE.value else {"x": x, "y": y, "z": z}
    )
    if process == Process.HAND.value and not any((x, y, z)):
        envelope = None
    return {
        "name": values.get("name", ""),
        "process": process,
        "envelopeMm": envelope,
        "materials": [
            m.strip() for m in re.split(r"[,;\n]", values.get("materials", "")) if m.strip()
        ],
        "minThicknessMm": _text(values.get("min_t")),
        "maxThicknessMm": _text(values.get("max_t")),
        "marginMm": _text(values.get("margin")) or 0,
        "enabled": values.get("enabled", "on") == "on",
    }


def machine_values(machine: Machine) -> dict[str, str]:
    return {
        "name": machine.name,
        "process": machine.process,
        "x": _length_text(machine.envelope_x_mm),
        "y": _length_text(machine.envelope_y_mm),
        "z": _length_text(machine.envelope_z_mm),
        "materials": ", ".join(machine.materials or []),
        "min_t": thickness_label(machine.min_thickness_mm) if machine.min_thickness_mm else "",
        "max_t": thickness_label(machine.max_thickness_mm) if machine.max_thickness_mm else "",
        "margin": f"{number(machine.margin_mm)} mm",
        "enabled": "on" if machine.enabled else "off",
    }


def stock_body(values: dict[str, str]) -> dict[str, Any]:
    kind = values.get("kind", StockKind.SHEET.value)
    x, y = _text(values.get("x")), _text(values.get("y"))
    count = (values.get("count") or "").strip() or "0"
    return {
        "material": values.get("material", ""),
        "kind": kind,
        "thickness": _text(values.get("thickness")),
        "sizeMm": {"length": x} if kind == StockKind.BAR.value else {"x": x, "y": y},
        # Whole numbers as numbers; anything else is refused by the same rule as the API's.
        "count": int(count) if count.isdigit() else count,
    }


def stock_values(item: StockItem) -> dict[str, str]:
    return {
        "material": item.material,
        "kind": item.kind,
        "thickness": thickness_label(item.thickness_mm),
        "x": _length_text(item.size_x_mm),
        "y": _length_text(item.size_y_mm),
        "count": str(item.count),
    }


def _thickness_range(low: float | None, high: float | None) -> str:
    if low and high:
        return f"{thickness_label(low)} – {thickness_label(high)}"
    if high:
        return f"up to {thickness_label(high)}"
    if low:
        return f"from {thickness_label(low)}"
    return "any"


def machine_row(machine: Machine) -> dict[str, Any]:
    return {
        "id": machine.id,
        "name": machine.name,
        "process": PROCESS_LABELS.get(machine.process, machine.process),
        "envelope": machines.machine_label(machine),
        "materials": ", ".join(machine.materials or []) or "any",
        "thickness": _thickness_range(machine.min_thickness_mm, machine.max_thickness_mm),
        "margin": f"{number(machine.margin_mm)} mm",
        "enabled": machine.enabled,
    }


def stock_row(item: StockItem) -> dict[str, Any]:
    public = stock.stock_public(item)
    return {"id": item.id, "label": public["label"], "count": str(item.count)}


class ShopSettingsState(rx.State):
    machines: list[dict[str, Any]] = []
    stock: list[dict[str, Any]] = []
    limit_label: str = ""
    limit_input: str = ""
    limit_error: str = ""
    # The open form: "machine" or "stock" ("" when closed), and the row it edits (0: a new one).
    form: str = ""
    editing_id: int = 0
    values: dict[str, str] = {}
    error_field: str = ""
    error: str = ""
    # The row whose Delete asks "really?": "machine-3", "stock-7".
    confirm_delete: str = ""

    @rx.var
    def form_open(self) -> bool:
        return self.form != ""

    @rx.var
    def form_title(self) -> str:
        what = "machine" if self.form == "machine" else "stock item"
        return f"Edit {what}" if self.editing_id else f"Add a {what}"

    async def _admin(self) -> None:
        auth = await self.get_state(AuthState)
        await auth.require(Scope.ADMIN)

    def _refresh(self) -> None:
        with session_scope() as session:
            self.machines = [machine_row(m) for m in machines.list_machines(session)]
            self.stock = [stock_row(s) for s in stock.list_stock(session)]
            shop = config.shop_settings_public(session)
        self.limit_label = (
            f"{number(shop['weightLimitKg'])} kg ({number(shop['weightLimitLb'])} lb)"
        )

    @rx.event
    async def load(self) -> None:
        auth = await self.get_state(AuthState)
        if auth.signed_in:
            self._refresh()

    def _open(self, form: str, editing_id: int, values: dict[str, str]) -> None:
        self.form, self.editing_id, self.values = form, editing_id, values
        self.error_field, self.error, self.confirm_delete = "", "", ""

    @rx.event
    async def new_machine(self):  # type: ignore[no-untyped-def]
        return await self._open_checked("machine", 0, dict(MACHINE_FORM))

    @rx.event
    async def new_stock(self):  # type: ignore[no-untyped-def]
        return await self._open_checked("stock", 0, dict(STOCK_FORM))

    @rx.event
    async def edit_machine(self, machine_id: int):  # type: ignore[no-untyped-def]
        try:
            with session_scope() as session:
                values = machine_values(machines.get_machine(session, int(machine_id)))
        except AerieError as err:
            return rx.toast.error(err.message)
        return await self._open_checked("machine", int(machine_id), values)

    @rx.event
    async def edit_stock(self, stock_id: int):  # type: ignore[no-untyped-def]
        try:
            with session_scope() as session:
                values = stock_values(stock.get_stock(session, int(stock_id)))
        except AerieError as err:
            return rx.toast.error(err.message)
        return await self._open_checked("stock", int(stock_id), values)

    async def _open_checked(self, form: str, editing_id: int, values: dict[str, str]):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
        except AerieError as err:
            return rx.toast.error(err.message)
        self._open(form, editing_id, values)
        return None

    @rx.event
    def set_form_open(self, value: bool) -> None:
        if not value:
            self.form = ""

    @rx.event
    def set_value(self, field: str, value: str) -> None:
        if field in MACHINE_FORM or field in STOCK_FORM:
            self.values = {**self.values, field: value[:500]}
            if self.error_field == field:
                self.error_field, self.error = "", ""

    @rx.event
    def set_enabled(self, value: bool) -> None:
        self.values = {**self.values, "enabled": "on" if value else "off"}

    @rx.event
    async def save(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        """Validate and store the open form; a refused value is shown under its field."""
        errors = MACHINE_ERRORS if self.form == "machine" else STOCK_ERRORS
        try:
            await self._admin()
            with session_scope() as session:
                changed = self._store(session)
        except ValidationFailed as err:
            field = str(err.details.get("field", ""))
            self.error_field = errors.get(re.sub(r"\[\d+\]$", "", field), "form")
            self.error = str(err.details.get("message", err.message))
            return None
        except AerieError as err:
            if isinstance(err.details, dict) and err.details.get("field") in errors:
                self.error_field, self.error = errors[err.details["field"]], err.message
                return None
            return rx.toast.error(err.message)
        what = "Machine" if self.form == "machine" else "Stock item"
        self.form = ""
        self._refresh()
        return rx.toast.success(f"{what} saved; fit or stock changed for {_parts(changed)}")

    def _store(self, session: Any) -> int:
        if self.form == "machine":
            data = inputs.machine_input(machine_body(self.values), partial=False)
            if self.editing_id:
                return machines.update_machine(session, self.editing_id, data=data)[1]
            return machines.create_machine(session, data=data)[1]
        data = inputs.stock_input(stock_body(self.values), partial=False)
        if self.editing_id:
            return stock.update_stock(session, self.editing_id, data=data)[1]
        return stock.create_stock(session, data=data)[1]

    @rx.event
    def ask_delete(self, key: str) -> None:
        self.confirm_delete = key

    @rx.event
    def cancel_delete(self) -> None:
        self.confirm_delete = ""

    @rx.event
    async def delete(self, kind: str, row_id: int):  # type: ignore[no-untyped-def]
        remove: Callable[[Any, int], int] = (
            machines.delete_machine if kind == "machine" else stock.delete_stock
        )
        try:
            await self._admin()
            with session_scope() as session:
                changed = remove(session, int(row_id))
        except AerieError as err:
            return rx.toast.error(err.message)
        self.confirm_delete = ""
        self._refresh()
        what = "Machine" if kind == "machine" else "Stock item"
        return rx.toast.success(f"{what} deleted; fit or stock changed for {_parts(changed)}")

    @rx.event
    def set_limit_input(self, value: str) -> None:
        self.limit_input, self.limit_error = value[:40], ""

    @rx.event
    async def save_limit(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        """The robot weight limit as typed: "125 lb", "56.7 kg" (a bare number is kg)."""
        try:
            await self._admin()
            with session_scope() as session:
                config.update_shop_settings(session, body={"weightLimit": self.limit_input})
        except ValidationFailed as err:
            self.limit_error = str(err.details.get("message", err.message))
            return None
        except AerieError as err:
            return rx.toast.error(err.message)
        self.limit_input, self.limit_error = "", ""
        self._refresh()
        return rx.toast.success(f"Weight limit set to {self.limit_label}")


def _parts(count: int) -> str:
    return "1 part" if count == 1 else f"{count} parts"

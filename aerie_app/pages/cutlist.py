"""The cut list: material demand of the fab queue per material and thickness, printable, with CSV.

The figures (sheets needed from rectpack, summed area, pieces too large) come from
``services.shop.cutlist``, the same function as ``GET /api/cutlist``; the CSV link is
``/api/cutlist.csv``, which the signed-in browser's session cookie may read.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.components.layout import live_region, page_frame
from aerie_app.db import session_scope
from aerie_app.services.shop import cutlist
from aerie_app.state.auth import AuthState
from aerie_app.state.live import LiveMixin
from aerie_app.units import number

QUEUE_NAMES = {"cnc": "CNC/Laser", "hand": "Hand Fab"}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _area(mm2: float) -> str:
    return f"{mm2 / 1e6:.3f} m²" if mm2 >= 100_000 else f"{number(mm2 / 100, 1)} cm²"


def group_view(group: dict[str, Any]) -> dict[str, Any]:
    """One material + thickness group as display strings."""
    stock = group["stock"]
    sheets = group["sheetsNeeded"]
    if stock is None:
        sheets_text = "no matching stock: sheets not estimated"
    elif sheets is None:
        sheets_text = f"{stock['label']} (not a sheet: not packed)"
    else:
        short = group["shortBy"] or 0
        sheets_text = f"{sheets} of {stock['label']} ({stock['onHand']} on hand" + (
            f", {short} short)" if short else ")"
        )
    return {
        "title": " ".join(t for t in (group["thicknessLabel"], group["material"]) if t)
        or "unknown material",
        "count": str(group["count"]),
        "area": _area(group["areaMm2"]),
        "sheets": sheets_text,
        "short": bool(group["shortBy"]),
        "margin": f"{number(group['marginMm'])} mm" if group["marginMm"] else "",
        "tooLarge": str(group["piecesTooLarge"] or 0),
        "parts": [
            {
                "id": p["id"],
                "partId": p["partId"],
                "name": p["name"],
                "count": str(p["count"]),
                "footprint": " × ".join(number(v, 1) for v in p["footprintMm"]) + " mm"
                if p["footprintMm"]
                else "no model",
                "area": _area(p["areaMm2"]) if p["areaMm2"] is not None else "—",
            }
            for p in group["parts"]
        ],
    }


class CutListState(LiveMixin, rx.State):
    groups: list[dict[str, Any]] = []
    summary: str = ""

    def _refresh(self) -> None:
        with session_scope() as session:
            found = cutlist.cut_list(session)
        self.groups = [group_view(g) for g in found["groups"]]
        queues = " and ".join(QUEUE_NAMES.get(q, q) for q in found["queue"])
        self.summary = f"{found['parts']} parts, {found['pieces']} pieces still to make in the {queues} queues."

    @rx.event
    async def load(self) -> None:
        auth = await self.get_state(AuthState)
        if auth.signed_in:
            self._refresh()


def part_row(part: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(part["partId"].to(str), href="/parts/" + part["id"].to(str))),
        rx.table.cell(part["name"].to(str)),
        rx.table.cell(part["count"].to(str)),
        rx.table.cell(part["footprint"].to(str)),
        rx.table.cell(part["area"].to(str)),
        class_name="cut-part",
    )


def group_card(group: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(group["title"].to(str), as_="h2", size="4", class_name="cut-title"),
            rx.text(
                group["count"].to(str),
                " pieces · ",
                group["area"].to(str),
                rx.cond(group["margin"].to(str) != "", " · margin ", ""),
                group["margin"].to(str),
                size="2",
            ),
            rx.text(
                "Sheets needed: ",
                rx.text.strong(group["sheets"].to(str)),
                size="2",
                class_name="cut-sheets",
            ),
            rx.cond(
                group["tooLarge"].to(str) != "0",
                rx.text(
                    group["tooLarge"].to(str),
                    " pieces are larger than the sheet, even turned.",
                    size="2",
                    color_scheme="red",
                ),
            ),
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ("Part", "Name", "Count", "Footprint", "Area")
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(group["parts"].to(list[dict[str, Any]]), part_row)),
                    width="100%",
                    size="1",
                ),
                overflow_x="auto",
                width="100%",
            ),
            width="100%",
            spacing="2",
        ),
        width="100%",
        class_name="cut-group",
    )


def page() -> rx.Component:
    return page_frame(
        live_region(CutListState.live_note),
        rx.hstack(
            rx.heading("Cut list", as_="h1", size="6"),
            rx.spacer(),
            rx.button(
                rx.icon("printer", size=14),
                "Print",
                variant="soft",
                on_click=rx.call_script("window.print()"),
                class_name="no-print",
                id="cutlist-print",
            ),
            # A plain link: the browser downloads it with its session cookie (GET reads only).
            rx.button(
                rx.el.a(
                    rx.icon("download", size=14),
                    "Download CSV",
                    href="/api/cutlist.csv",
                    download="cutlist.csv",
                    id="cutlist-csv",
                ),
                as_child=True,
                variant="soft",
                class_name="no-print",
            ),
            width="100%",
            align="center",
            wrap="wrap",
            spacing="2",
        ),
        rx.text(CutListState.summary, size="2", id="cutlist-summary"),
        rx.text(
            "Sheets are estimated by packing each piece's footprint, grown by the machine's margin, "
            "onto the matched stock sheet.",
            size="1",
            color_scheme="gray",
        ),
        rx.cond(
            CutListState.groups.length() > 0,
            rx.vstack(rx.foreach(CutListState.groups, group_card), width="100%", spacing="3"),
            rx.text("Nothing is waiting to be cut.", color_scheme="gray"),
        ),
    )

"""The board: a tab per workflow stage with counts, server-side search, sort and paging."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.models import Category
from aerie_app.pages.auth import AuthState, sign_in_card
from aerie_app.schemas import part_public
from aerie_app.services import parts, stats
from aerie_app.services.parts import PartQuery

PAGE_SIZE = 50
TABS: list[tuple[str, str]] = [
    (Category.REVIEW.value, "Review"),
    (Category.CNC.value, "CNC/Laser"),
    (Category.HAND.value, "Hand Fab"),
    (Category.MISC.value, "Misc"),
    (Category.COMPLETED.value, "Completed"),
]
TYPE_LABEL = {"cnc": "CNC", "hand": "HAND FAB", "misc": "MISC"}


def _row(part: dict[str, Any]) -> dict[str, str]:
    """A part flattened to display strings (the table renders text only)."""
    info = part.get("miscInfo") or {}
    return {
        "id": str(part["id"]),
        "partId": part["partId"] or "",
        "type": TYPE_LABEL.get(part["type"] or "", "—"),
        "typeKey": part["type"] or "",
        "name": part["name"] or "(unnamed)",
        "subsystem": part["subsystem"] or "",
        "material": part["material"] or "",
        "thickness": part["materialThickness"] or "",
        "amount": f"{part['quantityDone']}/{part['amount']}"
        if part["quantityDone"]
        else str(part["amount"]),
        "assigned": part["assigned"] or "",
        "status": part["status"],
        "notes": part["notes"] or "",
        "file": part["file"] or "",
        "storage": str(info.get("storage", "")),
    }


class BoardState(rx.State):
    """The visible page of one tab. The browser never holds more than one page of parts."""

    tab: str = Category.REVIEW.value
    search: str = ""
    sort_by: str = "created_at"
    sort_order: str = "desc"
    offset: int = 0
    total: int = 0
    rows: list[dict[str, str]] = []
    counts: dict[str, int] = {}

    @rx.var
    def page_label(self) -> str:
        if not self.total:
            return "No parts"
        end = min(self.offset + PAGE_SIZE, self.total)
        return f"{self.offset + 1}–{end} of {self.total}"

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.total

    @rx.var
    def has_prev(self) -> bool:
        return self.offset > 0

    def _refresh(self) -> None:
        query = PartQuery(
            category=self.tab,
            search=self.search or None,
            sort_by=self.sort_by,
            sort_order=self.sort_order,
            limit=PAGE_SIZE,
            offset=self.offset,
        )
        with session_scope() as session:
            found, total = parts.list_parts(session, query)
            self.rows = [_row(part_public(p)) for p in found]
            self.total = total
            self.counts = stats.stats(session)["by_category"]

    @rx.event
    async def load(self) -> None:
        auth = await self.get_state(AuthState)
        if not auth.signed_in:
            return
        self._refresh()

    @rx.event
    async def set_tab(self, tab: str) -> None:
        self.tab = tab
        self.offset = 0
        await self.load()

    @rx.event
    async def set_search(self, value: str) -> None:
        self.search = value[:200]
        self.offset = 0
        await self.load()

    @rx.event
    async def sort(self, column: str) -> None:
        if self.sort_by == column:
            self.sort_order = "asc" if self.sort_order == "desc" else "desc"
        else:
            self.sort_by, self.sort_order = column, "asc"
        await self.load()

    @rx.event
    async def next_page(self) -> None:
        self.offset += PAGE_SIZE
        await self.load()

    @rx.event
    async def prev_page(self) -> None:
        self.offset = max(0, self.offset - PAGE_SIZE)
        await self.load()


def header() -> rx.Component:
    return rx.hstack(
        rx.hstack(
            rx.icon("plane", size=28, color=rx.color("accent", 10)),
            rx.heading("AERIE", size="7", color=rx.color("accent", 10), letter_spacing="0.08em"),
            align="center",
            spacing="3",
        ),
        rx.spacer(),
        rx.cond(
            AuthState.signed_in,
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    placeholder="Search parts…",
                    id="search",
                    value=BoardState.search,
                    on_change=BoardState.set_search.debounce(250),
                    width=["100%", "260px"],
                ),
                rx.badge(AuthState.who, variant="soft", size="2"),
                rx.icon_button(
                    rx.icon("log-out", size=16),
                    variant="ghost",
                    on_click=AuthState.sign_out,
                    title="Sign out",
                ),
                align="center",
                spacing="3",
            ),
        ),
        rx.color_mode.button(),
        width="100%",
        align="center",
        padding="16px 20px",
        border_radius="16px",
        background=rx.color("gray", 2),
        border=f"1px solid {rx.color('gray', 4)}",
        wrap="wrap",
        gap="12px",
        id="app-header",
    )


def tab_bar() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(
            *[
                rx.tabs.trigger(
                    rx.hstack(
                        rx.text(label),
                        rx.badge(BoardState.counts.get(key, 0), variant="soft", radius="full"),
                        spacing="2",
                        align="center",
                    ),
                    value=key,
                    id=f"tab-{key}",
                )
                for key, label in TABS
            ],
            size="2",
            wrap="wrap",
        ),
        value=BoardState.tab,
        on_change=BoardState.set_tab,
        width="100%",
    )


def sort_header(label: str, column: str) -> rx.Component:
    return rx.table.column_header_cell(
        rx.hstack(
            rx.text(label),
            rx.cond(
                BoardState.sort_by == column,
                rx.cond(
                    BoardState.sort_order == "asc",
                    rx.icon("chevron-up", size=14),
                    rx.icon("chevron-down", size=14),
                ),
            ),
            spacing="1",
            align="center",
            cursor="pointer",
            on_click=BoardState.sort(column),
        )
    )


def type_badge(row: rx.Var) -> rx.Component:
    return rx.badge(
        row["type"],
        color_scheme=rx.match(
            row["typeKey"], ("cnc", "blue"), ("hand", "purple"), ("misc", "teal"), "gray"
        ),
        variant="solid",
    )


def part_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(type_badge(row)),
        rx.table.cell(
            rx.vstack(
                rx.text(row["name"], weight="bold"),
                rx.text(row["partId"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(row["subsystem"]),
        rx.table.cell(rx.text(row["material"], color=rx.color("accent", 11))),
        rx.table.cell(row["thickness"]),
        rx.table.cell(row["amount"]),
        rx.table.cell(row["assigned"]),
        rx.table.cell(rx.badge(row["status"], variant="surface")),
        rx.table.cell(rx.text(row["notes"], size="2", color_scheme="gray")),
        rx.table.cell(rx.text(row["file"], size="2")),
        class_name="part-row",
    )


def parts_table() -> rx.Component:
    return rx.vstack(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    sort_header("Type", "type"),
                    sort_header("Name", "name"),
                    sort_header("Subsystem", "subsystem"),
                    sort_header("Material", "material"),
                    sort_header("Thickness", "material_thickness"),
                    sort_header("Amount", "amount"),
                    sort_header("Assignee", "assigned"),
                    sort_header("Status", "status"),
                    rx.table.column_header_cell("Notes"),
                    rx.table.column_header_cell("File"),
                )
            ),
            rx.table.body(rx.foreach(BoardState.rows, part_row)),
            width="100%",
            variant="surface",
            id="parts-table",
        ),
        rx.hstack(
            rx.text(BoardState.page_label, size="2", color_scheme="gray", id="page-label"),
            rx.spacer(),
            rx.button(
                "Previous",
                variant="soft",
                disabled=~BoardState.has_prev,
                on_click=BoardState.prev_page,
            ),
            rx.button(
                "Next",
                variant="soft",
                disabled=~BoardState.has_next,
                on_click=BoardState.next_page,
            ),
            width="100%",
            align="center",
        ),
        width="100%",
        spacing="3",
    )


def layout(*children: rx.Component) -> rx.Component:
    return rx.box(
        rx.vstack(
            header(),
            rx.cond(AuthState.signed_in, rx.fragment(*children), sign_in_card()),
            spacing="4",
            width="100%",
            max_width="1400px",
            margin="0 auto",
            padding=["10px", "20px"],
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
        id="aerie-shell",
    )


def page() -> rx.Component:
    return layout(tab_bar(), rx.box(parts_table(), overflow_x="auto", width="100%"))

"""The board: a tab per workflow stage with counts, server-side search, filters, sort and paging.

The browser only ever holds one page of one tab; every query runs on the server (:mod:`aerie_app.state.board`).
"""

from __future__ import annotations

import reflex as rx

from aerie_app.components.actions import action_buttons, action_dialog
from aerie_app.components.fit import fit_cell
from aerie_app.components.importer import import_button, import_dialog
from aerie_app.components.labels import (
    LINK_STYLE,
    labels_button,
    labels_dialog,
    pick_box,
    selection_bar,
)
from aerie_app.components.layout import SELECT_STYLE, live_region, page_frame
from aerie_app.components.part_form import PartFormState, part_form_dialog
from aerie_app.models import Category
from aerie_app.pages.part import detail_body
from aerie_app.state.auth import AuthState
from aerie_app.state.board import ALL, COLUMN_SORT, SORTS, BoardState
from aerie_app.state.part import DetailState
from aerie_app.state.prefs import PrefsState

# Long enough to skip most intermediate keystrokes, short enough that rows follow typing
# (the server answers a search in ~10 ms at 100k parts).
SEARCH_DEBOUNCE_MS = 100
TABS: list[tuple[str, str]] = [
    (Category.REVIEW.value, "Review"),
    (Category.CNC.value, "CNC/Laser"),
    (Category.HAND.value, "Hand Fab"),
    (Category.MISC.value, "Misc"),
    (Category.COMPLETED.value, "Completed"),
]


def tab_bar(*body: rx.Component) -> rx.Component:
    """The stage tabs; ``body`` (toolbar, rows, pager) is the active tab's panel, so every tab
    controls a panel that exists, as screen readers expect of a tab list."""
    return rx.tabs.root(
        rx.tabs.list(
            *[
                rx.cond(
                    PrefsState.hidden_tabs.contains(key),
                    rx.fragment(),
                    rx.tabs.trigger(
                        rx.hstack(
                            rx.text(label),
                            rx.badge(
                                BoardState.counts.get(key, 0),
                                variant="soft",
                                radius="full",
                                class_name="tab-count",
                            ),
                            spacing="2",
                            align="center",
                        ),
                        value=key,
                        id=f"tab-{key}",
                    ),
                )
                for key, label in TABS
            ],
            size="2",
            # One row that scrolls sideways on a phone rather than hiding tabs.
            overflow_x="auto",
            overflow_y="hidden",
            white_space="nowrap",
            flex_wrap="nowrap",
        ),
        rx.tabs.content(
            rx.vstack(*body, spacing="4", width="100%", padding_top="12px"),
            value=BoardState.tab,
        ),
        value=BoardState.tab,
        on_change=BoardState.set_tab,
        width="100%",
    )


def _filter_value(name: str) -> rx.Var:
    return rx.cond(
        BoardState.filters.get(name, "").to(str) == "",
        ALL,
        BoardState.filters.get(name, "").to(str),
    )


def filter_select(name: str, label: str) -> rx.Component:
    """A native select: named for screen readers, the phone's own picker on phones, and no
    modal overlay hiding the page while it is open."""
    return rx.el.select(
        rx.el.option(f"All {label.lower()}", value=ALL),
        rx.foreach(BoardState.options.get(name, []), lambda v: rx.el.option(v, value=v)),
        value=_filter_value(name),
        on_change=lambda v: BoardState.set_filter(name, v),
        id=f"filter-{name}",
        aria_label=f"Filter: {label}",
        **SELECT_STYLE,
    )


def fits_select() -> rx.Component:
    """Fits machine X / fits nothing: the API's ``fits`` parameter (a machine id or none)."""
    return rx.el.select(
        rx.el.option("Any fit", value=ALL),
        rx.foreach(
            BoardState.machines,
            lambda m: rx.el.option("Fits " + m["name"].to(str), value=m["id"].to(str)),
        ),
        rx.el.option("Fits nothing", value="none"),
        value=_filter_value("fits"),
        on_change=lambda v: BoardState.set_filter("fits", v),
        id="filter-fits",
        aria_label="Filter: machine fit",
        **SELECT_STYLE,
    )


def sort_select() -> rx.Component:
    """Sort by fit, thickness or mass (the API's sortBy) on a phone as on a desktop."""
    return rx.el.select(
        *[rx.el.option(label, value=key) for key, (label, _) in SORTS.items()],
        rx.el.option("Table column", value=COLUMN_SORT, disabled=True),
        value=BoardState.sort_choice,
        on_change=BoardState.set_sort,
        id="sort-by",
        aria_label="Sort by",
        **SELECT_STYLE,
    )


def toolbar() -> rx.Component:
    return rx.hstack(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder="Search parts…",
            id="search",
            default_value=BoardState.search,
            on_change=BoardState.set_search.debounce(SEARCH_DEBOUNCE_MS),
            width=["100%", "100%", "280px"],
        ),
        filter_select("subsystem", "Subsystems"),
        filter_select("material", "Materials"),
        filter_select("assigned", "Assignees"),
        filter_select("status", "Statuses"),
        fits_select(),
        sort_select(),
        rx.spacer(),
        rx.cond(
            AuthState.can_review,
            rx.button(
                rx.icon("plus", size=16),
                "Add part for review",
                on_click=PartFormState.new,
                id="add-part",
            ),
        ),
        width="100%",
        wrap="wrap",
        spacing="2",
        align="center",
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
            row["typeKey"], ("cnc", "indigo"), ("hand", "purple"), ("misc", "teal"), "gray"
        ),
        variant="solid",
        # White on the solid step-9 colours is under 4.5:1 for most hues; high contrast is not.
        high_contrast=True,
    )


def thumb(row: rx.Var, size: str = "48px") -> rx.Component:
    return rx.cond(
        PrefsState.previews_on & (row["thumb"].to(str) != ""),
        rx.image(
            src=row["thumb"].to(str),
            width=size,
            height=size,
            border_radius="8px",
            background=rx.color("gray", 3),
            loading="lazy",
            alt="model preview",
        ),
        rx.box(width=size, height=size, border_radius="8px", background=rx.color("gray", 3)),
    )


def assignee(row: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(row["assigned"].to(str)),
        rx.cond(
            row["days"].to(str) != "",
            rx.badge(row["days"].to(str), variant="outline", size="1", title="days since claimed"),
        ),
        spacing="1",
        align="center",
    )


def panel_button(row: rx.Var) -> rx.Component:
    return rx.icon_button(
        rx.icon("panel-right-open", size=14),
        size="1",
        variant="ghost",
        title="Details",
        aria_label="Details of " + row["name"].to(str),
        on_click=DetailState.open_panel(row["id"].to(int)),
        class_name="open-panel",
    )


def side_panel() -> rx.Component:
    """The part detail beside the board (the same content as /parts/<id>)."""
    return rx.drawer.root(
        rx.drawer.portal(
            rx.drawer.overlay(),
            rx.drawer.content(
                rx.vstack(
                    rx.hstack(
                        rx.link(
                            "Open as a page",
                            href="/parts/" + DetailState.panel_id.to(str),
                            size="2",
                        ),
                        rx.spacer(),
                        rx.drawer.close(
                            rx.icon_button(
                                rx.icon("x", size=16),
                                variant="ghost",
                                id="panel-close",
                                aria_label="Close the details",
                            )
                        ),
                        width="100%",
                    ),
                    detail_body(),
                    width="100%",
                    spacing="3",
                ),
                background=rx.color("gray", 1),
                width=["100vw", "100vw", "min(900px, 70vw)"],
                height="100%",
                overflow_y="auto",
                padding="16px",
                top="0",
                right="0",
                left="auto",
                position="fixed",
                id="side-panel",
            ),
        ),
        open=DetailState.panel_open,
        on_open_change=DetailState.set_panel_open,
        direction="right",
    )


def part_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(pick_box(row)),
        rx.table.cell(rx.hstack(type_badge(row), panel_button(row), spacing="1", align="center")),
        rx.table.cell(thumb(row)),
        rx.table.cell(
            rx.link(
                rx.vstack(
                    rx.text(row["name"].to(str), weight="bold", class_name="part-name"),
                    rx.text(row["partId"].to(str), size="1", color_scheme="gray"),
                    spacing="0",
                ),
                href="/parts/" + row["id"].to(str),
                underline="none",
                color="inherit",
            )
        ),
        rx.table.cell(row["subsystem"].to(str)),
        rx.table.cell(rx.text(row["material"].to(str), color=rx.color("accent", 11))),
        rx.table.cell(row["thickness"].to(str)),
        rx.table.cell(
            rx.vstack(
                rx.text(row["stock"].to(str), size="1"),
                rx.text(row["mass"].to(str), size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(fit_cell(row, min_width="160px", max_width="260px")),
        rx.table.cell(row["amount"].to(str)),
        rx.table.cell(assignee(row)),
        rx.table.cell(
            rx.hstack(
                rx.badge(row["status"].to(str), variant="surface"),
                rx.cond(row["incorrect"].to(bool), rx.badge("incorrect", color_scheme="red")),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(row["notes"].to(str), size="1", color_scheme="gray")),
        rx.table.cell(rx.text(row["file"].to(str), size="1")),
        rx.table.cell(
            action_buttons(row["id"], row["name"], row["allowed"].to(list[str]), row["left"])
        ),
        class_name="part-row",
    )


def parts_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(
                    rx.checkbox(
                        checked=BoardState.page_all_selected,
                        on_change=BoardState.select_page,
                        aria_label="Pick every part on this page for labels",
                        id="pick-page",
                    )
                ),
                sort_header("Type", "type"),
                rx.table.column_header_cell("CAD"),
                sort_header("Name", "name"),
                sort_header("Subsystem", "subsystem"),
                sort_header("Material", "material"),
                sort_header("Thickness", "thickness"),
                sort_header("Stock", "stock_x_mm"),
                sort_header("Fit", "fit"),
                sort_header("Amount", "amount"),
                sort_header("Assignee", "assigned"),
                sort_header("Status", "status"),
                rx.table.column_header_cell("Notes"),
                rx.table.column_header_cell("File"),
                rx.table.column_header_cell("Actions"),
            )
        ),
        rx.table.body(rx.foreach(BoardState.rows, part_row)),
        width="100%",
        variant="surface",
        size="1",
        id="parts-table",
    )


def part_card(row: rx.Var) -> rx.Component:
    """The phone layout: one card per part with big buttons."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                pick_box(row),
                thumb(row, "64px"),
                rx.link(
                    rx.vstack(
                        rx.text(
                            row["name"].to(str), weight="bold", size="4", class_name="part-name"
                        ),
                        rx.hstack(
                            type_badge(row),
                            rx.badge(row["status"].to(str), variant="surface"),
                            spacing="1",
                        ),
                        spacing="1",
                    ),
                    href="/parts/" + row["id"].to(str),
                    underline="none",
                    color="inherit",
                ),
                spacing="3",
                align="center",
            ),
            rx.text(
                row["subsystem"].to(str),
                " · ",
                row["material"].to(str),
                " ",
                row["thickness"].to(str),
                " · ×",
                row["amount"].to(str),
                size="2",
                color_scheme="gray",
            ),
            fit_cell(row, width="100%"),
            rx.cond(row["assigned"].to(str) != "", assignee(row)),
            rx.cond(
                row["notes"].to(str) != "",
                rx.text(row["notes"].to(str), size="2", font_style="italic"),
            ),
            action_buttons(
                row["id"], row["name"], row["allowed"].to(list[str]), row["left"], size="3"
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="part-card",
    )


def pager() -> rx.Component:
    return rx.hstack(
        rx.text(BoardState.page_label, size="2", color_scheme="gray", id="page-label"),
        # Reflex renders internal links as the router's <Link>, which would take the click for
        # a page change: reloadDocument leaves it to the browser, which downloads the file.
        rx.el.a(
            rx.icon("download", size=14, aria_hidden="true"),
            "Export CSV",
            href=BoardState.export_url,
            id="export-csv",
            # Every part of this view (all pages), as a spreadsheet opens it.
            download=True,
            custom_attrs={"reloadDocument": True},
            style=LINK_STYLE,
        ),
        rx.el.a(
            rx.icon("sheet", size=14, aria_hidden="true"),
            "Excel",
            href=BoardState.export_xlsx_url,
            id="export-xlsx",
            download=True,
            custom_attrs={"reloadDocument": True, "aria-label": "Export Excel workbook"},
            style=LINK_STYLE,
        ),
        import_button(),
        labels_button(),
        selection_bar(),
        rx.spacer(),
        rx.button(
            "Previous", variant="soft", disabled=~BoardState.has_prev, on_click=BoardState.prev_page
        ),
        rx.button(
            "Next", variant="soft", disabled=~BoardState.has_next, on_click=BoardState.next_page
        ),
        width="100%",
        align="center",
        wrap="wrap",
    )


def page() -> rx.Component:
    return page_frame(
        tab_bar(
            toolbar(),
            rx.box(
                parts_table(), overflow_x="auto", width="100%", display=["none", "none", "block"]
            ),
            rx.vstack(
                rx.foreach(BoardState.rows, part_card),
                width="100%",
                spacing="3",
                display=["flex", "flex", "none"],
                id="parts-cards",
            ),
            pager(),
        ),
        rx.el.span(id="worker", data_worker=BoardState.worker, display="none"),
        live_region(BoardState.live_note),
        side_panel(),
        action_dialog(),
        part_form_dialog(),
        labels_dialog(),
        import_dialog(),
    )

"""Plain data tables that scroll sideways on a phone inside a focusable, named region.

Radix's table scrolls inside an element nobody can focus, so a table whose rows hold no button (a
fabricator's view of the machines, the weight numbers) could not be scrolled by keyboard
(WCAG 2.1.1; axe's scrollable-region-focusable). These tables are plain ``<table>`` elements in a
region that takes focus and has a name.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

CELL = {
    "padding": "6px 8px",
    "border_bottom": f"1px solid {rx.color('gray', 5)}",
    "text_align": "left",
}


def header(*titles: str) -> rx.Component:
    return rx.el.thead(rx.el.tr(*[rx.el.th(t, scope="col", **CELL) for t in titles]))


def cell(*children: Any, **props: Any) -> rx.Component:
    return rx.el.td(*children, **CELL, **props)


def row_header(*children: Any, **props: Any) -> rx.Component:
    return rx.el.th(*children, scope="row", font_weight="normal", **CELL, **props)


def scrolling_table(*children: Any, label: str, table_id: str) -> rx.Component:
    """``<table id=table_id>`` of ``children`` (thead, tbody) in a focusable region named ``label``."""
    return rx.box(
        rx.el.table(
            *children,
            width="100%",
            border_collapse="collapse",
            font_size="var(--font-size-1)",
            id=table_id,
        ),
        overflow_x="auto",
        width="100%",
        tab_index=0,
        role="region",
        aria_label=label,
    )

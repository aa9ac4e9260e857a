"""The shop's view of a part as badges and lines: machine fit, stock match, duplicate geometry.

Every function takes a flattened row (``state.board.to_row``), so the board's rows and cards, the
review dialog and the part page show a part the same way. The reason a part fits nothing is
always visible text beside the badge, never only a tooltip. Badges are ``soft`` with high
contrast: step-12 text on a step-3 tint is over 7:1 in both themes.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.models import FitStatus


def _badge(icon: str, text: str, color: str, status: str) -> rx.Component:
    return rx.badge(
        rx.icon(icon, size=12, aria_hidden="true"),
        text,
        color_scheme=color,
        variant="soft",
        high_contrast=True,
        class_name=f"fit-badge fit-{status}",
    )


def fit_badge(status: rx.Var) -> rx.Component:
    """``fits`` / ``fits nothing`` / ``not checked`` (no machines) / ``no model``."""
    return rx.match(
        status,
        (FitStatus.FITS.value, _badge("check", "fits", "green", "fits")),
        (FitStatus.NONE.value, _badge("triangle-alert", "fits nothing", "red", "none")),
        (FitStatus.UNKNOWN.value, _badge("circle-help", "not checked", "gray", "unknown")),
        _badge("box", "no model", "gray", "no-model"),
    )


def fit_text(row: rx.Var) -> rx.Component:
    """The machines that can make the part, or why none can."""
    return rx.cond(
        row["fit"].to(str) == FitStatus.FITS.value,
        rx.text(row["fitMachines"].to(str), size="1", class_name="fit-machines"),
        rx.cond(
            row["fitReason"].to(str) != "",
            rx.text(row["fitReason"].to(str), size="1", class_name="fit-reason"),
        ),
    )


def stock_text(row: rx.Var) -> rx.Component:
    """The stock item the part comes from, or why there is none (nothing when it has no thickness)."""
    return rx.cond(
        row["stockMatch"].to(str) != "",
        rx.text("Stock: ", row["stockMatch"].to(str), size="1", class_name="stock-match"),
        rx.cond(
            row["stockReason"].to(str) != "",
            rx.text(
                row["stockReason"].to(str), size="1", color_scheme="gray", class_name="stock-reason"
            ),
        ),
    )


def fit_cell(row: rx.Var, **props: Any) -> rx.Component:
    """Badge, machines or reason, and the stock line: the board's "Fit" cell and card block."""
    return rx.vstack(
        rx.hstack(fit_badge(row["fit"]), fit_text(row), spacing="2", align="center", wrap="wrap"),
        stock_text(row),
        spacing="1",
        class_name="fit-cell",
        **props,
    )


def duplicate_link(row: rx.Var) -> rx.Component:
    """``Looks like P-0123 (name)`` linking to that part, when the geometry matches another's."""
    return rx.cond(
        row["duplicateId"].to(int) > 0,
        rx.text(
            rx.icon("copy", size=12, aria_hidden="true"),
            " Looks like ",
            rx.link(
                row["duplicateText"].to(str),
                href="/parts/" + row["duplicateId"].to(str),
                class_name="duplicate-link",
            ),
            size="1",
        ),
    )

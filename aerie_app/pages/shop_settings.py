"""The shop on the settings page: machines, stock on hand and the robot weight limit.

The state (forms, admin checks, the service calls) is ``state/shop.py``; this module draws it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.cad.materials import MATERIAL_KEYS
from aerie_app.components.tables import cell, header, scrolling_table
from aerie_app.models import Process, StockKind
from aerie_app.state.auth import AuthState
from aerie_app.state.shop import PROCESS_LABELS, ShopSettingsState

S = ShopSettingsState


def _error_props(key: str) -> dict[str, Any]:
    has_error = S.error_field == key
    return {
        "aria_invalid": rx.cond(has_error, "true", "false"),
        "aria_describedby": rx.cond(has_error, f"shop-{key}-error", ""),
    }


def form_field(label: Any, key: str, control: rx.Component, hint: str = "") -> rx.Component:
    """A labelled control with its error (when refused) right under it, tied by aria-describedby.
    ``label`` is text or a text Var (a lathe's X is its max diameter)."""
    return rx.vstack(
        rx.el.label(
            rx.text(label, size="2", weight="medium"), html_for=f"shop-{key}", width="100%"
        ),
        control,
        *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
        rx.cond(
            S.error_field == key,
            rx.text(
                S.error,
                size="1",
                color_scheme="red",
                id=f"shop-{key}-error",
                class_name="field-error",
                role="alert",
            ),
        ),
        spacing="1",
        width="100%",
    )


def text_field(
    label: Any, key: str, placeholder: str = "", hint: str = "", datalist: str = ""
) -> rx.Component:
    control = rx.input(
        value=S.values.get(key, ""),
        on_change=lambda v: S.set_value(key, v),
        id=f"shop-{key}",
        name=key,
        placeholder=placeholder,
        width="100%",
        custom_attrs={"list": datalist} if datalist else {},
        **_error_props(key),
    )
    return form_field(label, key, control, hint)


def native_select(key: str, choices: list[tuple[str, str]]) -> rx.Component:
    return rx.el.select(
        *[rx.el.option(label, value=value) for value, label in choices],
        value=S.values.get(key, ""),
        on_change=lambda v: S.set_value(key, v),
        id=f"shop-{key}",
        name=key,
        class_name="filter-select",
        height="var(--space-6)",
        padding="0 var(--space-2)",
        border_radius="var(--radius-2)",
        border=f"1px solid {rx.color('gray', 9)}",
        background=rx.color("gray", 2),
        color=rx.color("gray", 12),
        width="100%",
        **_error_props(key),
    )


def machine_form() -> rx.Component:
    lathe = S.values.get("process", "") == Process.LATHE.value
    return rx.vstack(
        text_field("Name", "name", "Router"),
        form_field("Process", "process", native_select("process", list(PROCESS_LABELS.items()))),
        rx.grid(
            text_field(rx.cond(lathe, "Max diameter", "Bed / envelope X"), "x", "24 in or 600"),
            text_field(rx.cond(lathe, "Max length", "Bed / envelope Y"), "y", "48 in"),
            rx.cond(lathe, rx.fragment(), text_field("Z clearance", "z", "2 in (optional)")),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="2",
            width="100%",
        ),
        rx.text('Lengths in mm, or with a unit: 24 in, 1/4", 6 mm.', size="1", color_scheme="gray"),
        text_field(
            "Materials",
            "materials",
            "aluminium, polycarbonate",
            "Comma-separated; empty means any material.",
        ),
        rx.grid(
            text_field("Min thickness", "min_t", "optional"),
            text_field("Max thickness", "max_t", "1 in"),
            text_field("Margin between parts", "margin", "1/4 in"),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="2",
            width="100%",
        ),
        rx.el.label(
            rx.hstack(
                rx.switch(
                    checked=S.values.get("enabled", "on") == "on",
                    on_change=S.set_enabled,
                    id="shop-enabled",
                    name="enabled",
                ),
                rx.text("Enabled (disabled machines make nothing)", size="2"),
                spacing="2",
                align="center",
            ),
        ),
        spacing="3",
        width="100%",
    )


def stock_form() -> rx.Component:
    bar = S.values.get("kind", "") == StockKind.BAR.value
    return rx.vstack(
        text_field(
            "Material",
            "material",
            "aluminium 6061",
            "e.g. 6061 aluminium, polycarbonate, HDPE",
            datalist="shop-materials-list",
        ),
        rx.el.datalist(
            *[rx.el.option(value=key) for key in MATERIAL_KEYS], id="shop-materials-list"
        ),
        form_field(
            "Kind",
            "kind",
            native_select("kind", [(StockKind.SHEET.value, "Sheet"), (StockKind.BAR.value, "Bar")]),
        ),
        text_field(
            rx.cond(bar, "Diameter", "Thickness"),
            "thickness",
            '1/8" or 3 mm',
        ),
        rx.grid(
            text_field(rx.cond(bar, "Length", "Sheet X"), "x", "24 in"),
            rx.cond(bar, rx.fragment(), text_field("Sheet Y", "y", "48 in")),
            text_field("Count on hand", "count", "2"),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="2",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def shop_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.form_title),
            rx.dialog.description(
                "Saving recomputes which machines can make every part.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    rx.cond(S.form == "machine", machine_form(), stock_form()),
                    rx.cond(
                        S.error_field == "form",
                        rx.callout(
                            S.error, color_scheme="red", size="1", width="100%", role="alert"
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Save", type="submit", high_contrast=True, id="shop-save"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.save,
                reset_on_submit=False,
            ),
            max_width="560px",
            id="shop-dialog",
        ),
        open=S.form_open,
        on_open_change=S.set_form_open,
    )


def row_buttons(kind: str, row: rx.Var, name: rx.Var) -> rx.Component:
    key = f"{kind}-" + row["id"].to(str)
    return rx.cond(
        AuthState.is_admin,
        rx.cond(
            S.confirm_delete == key,
            rx.hstack(
                rx.button(
                    "Really delete",
                    size="1",
                    color_scheme="red",
                    high_contrast=True,
                    on_click=S.delete(kind, row["id"].to(int)),
                    class_name=f"{kind}-delete-confirm",
                ),
                rx.button(
                    "Keep", size="1", variant="soft", color_scheme="gray", on_click=S.cancel_delete
                ),
                spacing="1",
            ),
            rx.hstack(
                rx.icon_button(
                    rx.icon("pencil", size=14),
                    size="1",
                    variant="soft",
                    aria_label="Edit " + name,
                    title="Edit",
                    on_click=(S.edit_machine if kind == "machine" else S.edit_stock)(
                        row["id"].to(int)
                    ),
                    class_name=f"{kind}-edit",
                ),
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    high_contrast=True,
                    aria_label="Delete " + name,
                    title="Delete",
                    on_click=S.ask_delete(key),
                    class_name=f"{kind}-delete",
                ),
                spacing="1",
            ),
        ),
    )


def _card_title(title: str, add_label: str, on_add: Any, add_id: str) -> rx.Component:
    """A settings card's heading, with its Add button for admins."""
    return rx.hstack(
        rx.heading(title, size="4"),
        rx.spacer(),
        rx.cond(
            AuthState.is_admin,
            rx.button(rx.icon("plus", size=14), add_label, on_click=on_add, id=add_id),
        ),
        width="100%",
        align="center",
    )


def machines_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            _card_title("Machines", "Add machine", S.new_machine, "add-machine"),
            scrolling_table(
                header("Name", "Process", "Size", "Materials", "Thickness", "Margin", ""),
                rx.el.tbody(
                    rx.foreach(
                        S.machines,
                        lambda m: rx.el.tr(
                            cell(
                                rx.hstack(
                                    rx.text(m["name"].to(str), weight="medium"),
                                    rx.cond(
                                        ~m["enabled"].to(bool),
                                        rx.badge(
                                            "disabled", color_scheme="gray", high_contrast=True
                                        ),
                                    ),
                                    spacing="2",
                                    align="center",
                                )
                            ),
                            cell(m["process"].to(str)),
                            cell(m["envelope"].to(str), class_name="machine-size"),
                            cell(m["materials"].to(str)),
                            cell(m["thickness"].to(str)),
                            cell(m["margin"].to(str)),
                            cell(row_buttons("machine", m, m["name"].to(str))),
                            class_name="machine-row",
                        ),
                    )
                ),
                label="Machines",
                table_id="machines-table",
            ),
            width="100%",
        ),
        width="100%",
    )


def stock_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            _card_title("Stock on hand", "Add stock", S.new_stock, "add-stock"),
            scrolling_table(
                header("Stock", "On hand", ""),
                rx.el.tbody(
                    rx.foreach(
                        S.stock,
                        lambda s: rx.el.tr(
                            cell(s["label"].to(str)),
                            cell(s["count"].to(str)),
                            cell(row_buttons("stock", s, s["label"].to(str))),
                            class_name="stock-row",
                        ),
                    )
                ),
                label="Stock on hand",
                table_id="stock-table",
            ),
            width="100%",
        ),
        width="100%",
    )


def weight_limit_card() -> rx.Component:
    has_error = S.limit_error != ""
    return rx.card(
        rx.vstack(
            rx.heading("Robot weight limit", size="4"),
            rx.text("Now: ", rx.text.strong(S.limit_label, id="weight-limit"), size="2"),
            rx.cond(
                AuthState.is_admin,
                rx.form(
                    rx.vstack(
                        rx.el.label(
                            rx.text(
                                "New limit (e.g. 125 lb or 56.7 kg)", size="2", weight="medium"
                            ),
                            html_for="weight-limit-input",
                        ),
                        rx.hstack(
                            rx.input(
                                value=S.limit_input,
                                on_change=S.set_limit_input,
                                id="weight-limit-input",
                                name="weight-limit",
                                placeholder="125 lb",
                                aria_invalid=rx.cond(has_error, "true", "false"),
                                aria_describedby=rx.cond(has_error, "weight-limit-error", ""),
                            ),
                            rx.button(
                                "Set limit", type="submit", variant="soft", id="save-weight-limit"
                            ),
                            spacing="2",
                        ),
                        rx.cond(
                            has_error,
                            rx.text(
                                S.limit_error,
                                size="1",
                                color_scheme="red",
                                id="weight-limit-error",
                                role="alert",
                            ),
                        ),
                        spacing="1",
                    ),
                    on_submit=S.save_limit,
                    reset_on_submit=False,
                ),
            ),
            width="100%",
        ),
        width="100%",
    )


def shop_section() -> rx.Component:
    return rx.vstack(
        machines_card(),
        stock_card(),
        weight_limit_card(),
        shop_dialog(),
        spacing="3",
        width="100%",
        id="shop-settings",
    )

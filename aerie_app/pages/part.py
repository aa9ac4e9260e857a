"""Part detail: every field, geometry facts, the 3D viewer, the drawing, revisions and the timeline."""

from __future__ import annotations

import reflex as rx

from aerie_app.components.actions import ActionState, action_buttons, action_dialog
from aerie_app.components.fit import duplicate_link, fit_badge, fit_text, stock_text
from aerie_app.components.labels import LINK_STYLE
from aerie_app.components.layout import live_region, page_frame
from aerie_app.components.part_form import PartFormState, part_form_dialog
from aerie_app.components.pins import PinState, pin_checklist, pin_form
from aerie_app.components.viewer import viewer
from aerie_app.state.auth import AuthState
from aerie_app.state.part import DetailState
from aerie_app.state.prefs import PrefsState


def kv(item: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(item["k"].to(str), size="2", color_scheme="gray", min_width="130px"),
        rx.text(item["v"].to(str), size="2"),
        width="100%",
        align="start",
    )


def model_panel() -> rx.Component:
    s = DetailState
    return rx.card(
        rx.cond(
            s.model_url != "",
            rx.cond(
                PrefsState.previews_on,
                viewer(
                    url=s.model_url,
                    ghost_url=s.ghost_url,
                    dark=True,
                    height="min(60vh, 460px)",
                    label=s.title,
                    dims_mm=s.model_dims,
                    poster=s.thumb_url,
                    pins=s.pins,
                    can_pin=AuthState.can_review,
                    on_pick=PinState.pick,
                ),
                rx.text("3D preview is off (Settings).", color_scheme="gray"),
            ),
            rx.cond(
                (s.conversion == "queued") | (s.conversion == "running"),
                rx.center(
                    rx.vstack(
                        rx.spinner(size="3"),
                        rx.text("Converting the STEP model…", id="converting"),
                        align="center",
                    ),
                    height="260px",
                ),
                rx.cond(
                    s.conversion == "failed",
                    rx.callout(
                        rx.vstack(
                            rx.text("The 3D model could not be made: ", s.conversion_error),
                            rx.cond(
                                AuthState.can_review,
                                rx.button(
                                    "Convert again", size="1", on_click=DetailState.reconvert
                                ),
                            ),
                        ),
                        color_scheme="red",
                        id="conversion-failed",
                    ),
                    rx.cond(
                        s.pdf_url != "",
                        rx.vstack(
                            rx.el.iframe(
                                src=s.pdf_url,
                                id="pdf-frame",
                                width="100%",
                                height="520px",
                                style={"border": "none", "borderRadius": "8px"},
                                title="drawing",
                            ),
                            rx.hstack(
                                rx.button(
                                    rx.icon("printer", size=14),
                                    "Print",
                                    size="1",
                                    on_click=rx.call_script(
                                        "document.getElementById('pdf-frame').contentWindow.print()"
                                    ),
                                ),
                                rx.link(
                                    rx.button(
                                        rx.icon("download", size=14),
                                        "Download",
                                        size="1",
                                        variant="soft",
                                    ),
                                    href=f"/api/parts/{s.part['id']}/download",
                                ),
                            ),
                            width="100%",
                        ),
                        rx.center(
                            rx.text(
                                "No model or drawing yet. Use Edit to upload a STEP or PDF.",
                                color_scheme="gray",
                            ),
                            height="160px",
                        ),
                    ),
                ),
            ),
        ),
        width="100%",
        id="model-panel",
    )


def _shop_line(label: str, *value: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray", min_width="130px"),
        rx.vstack(*value, spacing="1"),
        width="100%",
        align="start",
    )


def mass_form() -> rx.Component:
    """Enter the mass weighed on the shop's scale (write keys); its error is tied to the field."""
    s = DetailState
    has_error = s.mass_error != ""
    return rx.form(
        rx.vstack(
            rx.el.label(
                rx.text("Measured mass (g)", size="2", weight="medium"), html_for="measured-mass"
            ),
            rx.hstack(
                rx.input(
                    value=s.mass_input,
                    on_change=s.set_mass_input,
                    id="measured-mass",
                    name="measured-mass",
                    placeholder="e.g. 412",
                    input_mode="decimal",
                    aria_invalid=rx.cond(has_error, "true", "false"),
                    aria_describedby=rx.cond(has_error, "measured-mass-error", ""),
                    width="120px",
                ),
                rx.button("Save", type="submit", size="2", variant="soft", id="save-mass"),
                spacing="2",
                align="center",
            ),
            rx.cond(
                has_error,
                rx.text(
                    s.mass_error,
                    size="1",
                    color_scheme="red",
                    id="measured-mass-error",
                    role="alert",
                ),
            ),
            rx.text("Empty and Save clears it.", size="1", color_scheme="gray"),
            spacing="1",
        ),
        on_submit=s.save_mass,
        reset_on_submit=False,
        width="100%",
    )


def shop_card() -> rx.Component:
    """Fit, stock, thickness, estimated vs measured mass and duplicate geometry."""
    row = DetailState.row
    return rx.card(
        rx.vstack(
            rx.heading("Shop", size="3"),
            _shop_line(
                "Fit",
                rx.hstack(fit_badge(row["fit"]), fit_text(row), spacing="2", wrap="wrap"),
            ),
            _shop_line(
                "Stock",
                rx.cond(
                    (row["stockMatch"].to(str) == "") & (row["stockReason"].to(str) == ""),
                    rx.text("—", size="2"),
                    stock_text(row),
                ),
            ),
            _shop_line(
                "Thickness",
                rx.text(
                    rx.cond(
                        row["thicknessLabel"].to(str) != "", row["thicknessLabel"].to(str), "—"
                    ),
                    size="2",
                ),
            ),
            _shop_line(
                "Estimated mass",
                rx.text(
                    rx.cond(row["estimatedMass"].to(str) != "", row["estimatedMass"].to(str), "—"),
                    size="2",
                ),
            ),
            _shop_line(
                "Measured mass",
                rx.text(
                    rx.cond(
                        row["measuredMass"].to(str) != "",
                        row["measuredMass"].to(str),
                        "not weighed yet",
                    ),
                    size="2",
                    id="measured-mass-value",
                ),
            ),
            rx.cond(row["duplicateId"].to(int) > 0, _shop_line("Duplicate", duplicate_link(row))),
            rx.cond(AuthState.can_write, mass_form()),
            width="100%",
            id="shop-facts",
        ),
        width="100%",
    )


def detail_body() -> rx.Component:
    """The part's details; shown as the /parts/<id> page and in the board's side panel."""
    s = DetailState
    return rx.fragment(
        rx.cond(
            s.found,
            rx.vstack(
                rx.hstack(
                    rx.link(
                        rx.icon("arrow-left", size=18), href="/", aria_label="Back to the board"
                    ),
                    rx.heading(s.title, size="6", id="detail-title"),
                    rx.badge(s.part["status"].to(str), variant="surface"),
                    rx.spacer(),
                    rx.cond(
                        AuthState.can_review,
                        rx.hstack(
                            rx.button(
                                rx.icon("pencil", size=14),
                                "Edit / upload",
                                variant="soft",
                                on_click=PartFormState.edit(s.part["id"].to(int)),
                                id="edit-part",
                            ),
                            rx.el.a(
                                rx.icon("qr-code", size=14, aria_hidden="true"),
                                "Label",
                                href="/api/parts/labels.pdf?sheet=label-62x29&ids="
                                + s.part["id"].to(str),
                                target="_blank",
                                rel="noopener",
                                custom_attrs={"reloadDocument": True},
                                title="A label with this part's QR code (62 × 29 mm label printer)",
                                id="part-label",
                                style=LINK_STYLE,
                            ),
                            rx.button(
                                rx.icon("trash-2", size=14),
                                "Delete",
                                variant="soft",
                                color_scheme="red",
                                high_contrast=True,
                                on_click=ActionState.start(
                                    s.part["id"].to(int), "delete", s.title, 1
                                ),
                                id="delete-part",
                            ),
                        ),
                    ),
                    width="100%",
                    align="center",
                    wrap="wrap",
                ),
                action_buttons(
                    s.row["id"],
                    s.row["name"],
                    s.row["allowed"].to(list[str]),
                    s.row["left"],
                    size="2",
                ),
                rx.grid(
                    rx.vstack(model_panel(), pin_checklist(), pin_form(), width="100%"),
                    rx.vstack(
                        shop_card(),
                        rx.card(
                            rx.vstack(
                                rx.heading("Details", size="3"),
                                rx.foreach(s.info, kv),
                                width="100%",
                            ),
                            width="100%",
                        ),
                        rx.cond(
                            s.facts.length() > 0,
                            rx.card(
                                rx.vstack(
                                    rx.heading("Geometry", size="3"),
                                    rx.foreach(s.facts, kv),
                                    width="100%",
                                    id="facts",
                                ),
                                width="100%",
                            ),
                        ),
                        rx.cond(
                            s.part["notes"].to(str) != "",
                            rx.card(
                                rx.vstack(
                                    rx.heading("Notes", size="3"),
                                    rx.text(s.part["notes"].to(str), white_space="pre-wrap"),
                                ),
                                width="100%",
                            ),
                        ),
                        width="100%",
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.grid(
                    rx.card(
                        rx.vstack(
                            rx.heading("Files", size="3"),
                            rx.foreach(
                                s.revisions,
                                lambda r: rx.hstack(
                                    rx.link(r["label"].to(str), href=r["url"].to(str)),
                                    rx.badge(r["status"].to(str), variant="soft"),
                                    rx.cond(
                                        r["current"].to(bool),
                                        rx.badge("current", color_scheme="green"),
                                    ),
                                    rx.spacer(),
                                    rx.text(r["when"].to(str), size="1", color_scheme="gray"),
                                    width="100%",
                                ),
                            ),
                            width="100%",
                        ),
                        width="100%",
                    ),
                    rx.card(
                        rx.vstack(
                            rx.heading("Timeline", size="3"),
                            rx.foreach(
                                s.events,
                                lambda e: rx.hstack(
                                    rx.text(
                                        e["when"].to(str),
                                        size="1",
                                        color_scheme="gray",
                                        min_width="120px",
                                    ),
                                    rx.vstack(
                                        rx.text(e["what"].to(str), size="2", weight="medium"),
                                        rx.text(
                                            e["who"].to(str),
                                            " ",
                                            e["note"].to(str),
                                            size="1",
                                            color_scheme="gray",
                                        ),
                                        spacing="0",
                                    ),
                                    width="100%",
                                    class_name="timeline-row",
                                ),
                            ),
                            width="100%",
                            max_height="420px",
                            overflow_y="auto",
                        ),
                        width="100%",
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
            rx.callout(
                "This part does not exist (it may have been deleted).", color_scheme="orange"
            ),
        ),
    )


def page() -> rx.Component:
    return page_frame(
        detail_body(), action_dialog(), part_form_dialog(), live_region(DetailState.live_note)
    )

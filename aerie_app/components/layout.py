"""The page frame: header with navigation, the sign-in gate, toasts."""

from __future__ import annotations

import reflex as rx

from aerie_app.components.sign_in import sign_in_card
from aerie_app.state.auth import AuthState

NAV = [
    ("Board", "/", "layout-list"),
    ("Stats", "/stats", "chart-bar"),
    ("Cut list", "/cutlist", "scissors"),
    ("Settings", "/settings", "settings"),
]


# A native <select> styled like Radix's fields: named for screen readers, the phone's own picker on
# phones, and no modal overlay hiding the page while it is open (board filters, pickers).
SELECT_STYLE = {
    "class_name": "filter-select",
    "height": "var(--space-5)",
    "padding": "0 var(--space-2)",
    "border_radius": "var(--radius-2)",
    "border": f"1px solid {rx.color('gray', 9)}",  # 3:1 against the page (WCAG 1.4.11)
    "background": rx.color("gray", 2),
    "color": rx.color("gray", 12),
    "font_size": "var(--font-size-1)",
    "max_width": "12rem",
}


def kiosk_picker() -> rx.Component:
    """A shop computer on the team key: who is working here now (the timeline names them)."""
    return rx.el.select(
        rx.el.option("Who is working here?", value=""),
        rx.foreach(AuthState.roster, lambda p: rx.el.option(p["name"], value=p["id"])),
        value=rx.cond(AuthState.person_id > 0, AuthState.person_id.to(str), ""),
        on_change=AuthState.pick_person,
        aria_label="Who is working at this computer",
        id="kiosk-person",
        **SELECT_STYLE,
    )


def nav_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=16),
            rx.text(label, display=["none", "none", "inline"]),
            spacing="1",
            align="center",
        ),
        href=href,
        underline="none",
        color=rx.color("gray", 11),
        _hover={"color": rx.color("accent", 11)},
        title=label,
    )


def header(*extra: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.icon("plane", size=28, color=rx.color("accent", 10)),
                rx.heading(
                    "AERIE", size="7", color=rx.color("accent", 10), letter_spacing="0.08em"
                ),
                align="center",
                spacing="3",
            ),
            href="/",
            underline="none",
        ),
        rx.cond(
            AuthState.signed_in,
            rx.hstack(
                *[nav_link(*item) for item in NAV],
                rx.cond(AuthState.is_admin, nav_link("Admin", "/admin", "shield")),
                spacing="4",
                align="center",
                margin_left="12px",
            ),
        ),
        rx.spacer(),
        rx.cond(
            AuthState.signed_in,
            rx.hstack(
                *extra,
                rx.button(
                    rx.icon("scan-line", size=16, aria_hidden="true"),
                    "Scan",
                    variant="soft",
                    size="2",
                    on_click=rx.call_script("window.aerieScan && window.aerieScan()"),
                    title="Scan a part label with the camera",
                    id="scan-label",
                ),
                rx.cond(
                    AuthState.kiosk & (AuthState.roster.length() > 0),
                    kiosk_picker(),
                    rx.badge(
                        AuthState.signed_in_as,
                        variant="soft",
                        size="2",
                        display=["none", "inline-flex"],
                        id="signed-in-as",
                    ),
                ),
                rx.icon_button(
                    rx.icon("log-out", size=16),
                    variant="ghost",
                    on_click=AuthState.sign_out,
                    title="Sign out",
                    id="sign-out",
                ),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
        ),
        rx.color_mode.button(id="theme-toggle", aria_label="Switch light or dark theme"),
        width="100%",
        align="center",
        padding=["10px 12px", "16px 20px"],
        border_radius="16px",
        background=rx.color("gray", 2),
        border=f"1px solid {rx.color('gray', 4)}",
        wrap="wrap",
        gap="12px",
        id="app-header",
    )


VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "margin": "-1px",
    "overflow": "hidden",
    "clip": "rect(0 0 0 0)",
    "white_space": "nowrap",
    "border": "0",
}


def live_region(note: rx.Var, id_: str = "live-note") -> rx.Component:
    """A polite live region, invisible on screen: screen readers announce each new ``note``."""
    return rx.el.div(note, role="status", aria_live="polite", id=id_, style=VISUALLY_HIDDEN)


def page_frame(
    *children: rx.Component, header_extra: tuple[rx.Component, ...] = ()
) -> rx.Component:
    return rx.box(
        rx.vstack(
            header(*header_extra),
            rx.cond(
                AuthState.signed_in,
                rx.fragment(*children),
                rx.cond(
                    AuthState.checked, sign_in_card(), rx.center(rx.spinner(), min_height="40vh")
                ),
            ),
            spacing="4",
            width="100%",
            max_width="1400px",
            margin="0 auto",
            padding=["8px", "20px"],
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
        id="aerie-shell",
    )

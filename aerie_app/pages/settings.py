"""Per-browser preferences: which tabs show, 3D previews on or off (light/dark is the header's toggle)."""

from __future__ import annotations

import reflex as rx

from aerie_app.pages.auth import AuthState

TAB_CHOICES = [
    ("review", "Review"),
    ("cnc", "CNC/Laser"),
    ("hand", "Hand Fab"),
    ("misc", "Misc"),
    ("completed", "Completed"),
]


class PrefsState(rx.State):
    hidden_tabs: str = rx.LocalStorage("", name="aerie_hidden_tabs")
    previews: str = rx.LocalStorage("on", name="aerie_previews")

    @rx.var
    def previews_on(self) -> bool:
        return self.previews != "off"

    @rx.event
    def toggle_tab(self, key: str, visible: bool) -> None:
        hidden = {t for t in self.hidden_tabs.split(",") if t}
        if visible:
            hidden.discard(key)
        else:
            hidden.add(key)
        self.hidden_tabs = ",".join(sorted(hidden))

    @rx.event
    def set_previews(self, on: bool) -> None:
        self.previews = "on" if on else "off"


def page() -> rx.Component:
    from aerie_app.components.layout import page_frame

    return page_frame(
        rx.card(
            rx.vstack(
                rx.heading("Settings", size="5"),
                rx.text("These are remembered by this browser.", size="2", color_scheme="gray"),
                rx.heading("Visible tabs", size="3", margin_top="8px"),
                *[
                    rx.hstack(
                        rx.switch(
                            checked=~PrefsState.hidden_tabs.contains(key),
                            on_change=lambda v, k=key: PrefsState.toggle_tab(k, v),
                            id=f"show-{key}",
                        ),
                        rx.text(label),
                        align="center",
                    )
                    for key, label in TAB_CHOICES
                ],
                rx.heading("Previews", size="3", margin_top="8px"),
                rx.hstack(
                    rx.switch(
                        checked=PrefsState.previews_on,
                        on_change=PrefsState.set_previews,
                        id="previews",
                    ),
                    rx.text("Show 3D thumbnails and the model viewer"),
                    align="center",
                ),
                rx.heading("Appearance", size="3", margin_top="8px"),
                rx.hstack(rx.color_mode.switch(), rx.text("Dark mode"), align="center"),
                rx.text(
                    "Signed in as ",
                    AuthState.who,
                    " (",
                    AuthState.scope,
                    ")",
                    size="2",
                    color_scheme="gray",
                ),
                spacing="2",
            ),
            width="100%",
            max_width="560px",
        )
    )

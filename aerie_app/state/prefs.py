"""Per-browser preferences: which tabs show, 3D previews on or off (kept in localStorage)."""

from __future__ import annotations

import reflex as rx


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

"""The sign-in card the page frame shows to a browser without a session."""

from __future__ import annotations

import reflex as rx

from aerie_app.state.auth import AuthState


def sign_in_card() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Sign in to Aerie", size="5"),
                    rx.text(
                        "Enter your team's access key. This browser stays signed in until you "
                        "sign out or the key is revoked.",
                        size="2",
                        color_scheme="gray",
                    ),
                    rx.input(
                        name="key",
                        id="access-key",
                        type="password",
                        placeholder="Access key",
                        value=AuthState.key_input,
                        on_change=AuthState.set_key_input,
                        width="100%",
                        auto_focus=True,
                    ),
                    rx.cond(
                        AuthState.error != "",
                        rx.callout(AuthState.error, color_scheme="red", size="1", width="100%"),
                    ),
                    rx.button("Sign in", type="submit", width="100%", id="sign-in"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=AuthState.sign_in,
                reset_on_submit=False,
            ),
            width="min(420px, 92vw)",
        ),
        min_height="60vh",
    )

"""The sign-in card the page frame shows to a browser without a session: a person's name and
password, or the team's access key (a shop computer then picks who is working in the header)."""

from __future__ import annotations

import reflex as rx

from aerie_app.state.auth import AuthState


def _field(label: str, control: rx.Component, for_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=for_id),
        control,
        spacing="1",
        width="100%",
    )


def _person_fields() -> rx.Component:
    return rx.vstack(
        _field(
            "Name",
            rx.input(
                name="name",
                id="person-name",
                auto_complete="username",
                value=AuthState.name_input,
                on_change=AuthState.set_name_input,
                width="100%",
                auto_focus=True,
            ),
            "person-name",
        ),
        _field(
            "Password",
            rx.input(
                name="password",
                id="person-password",
                type="password",
                auto_complete="current-password",
                value=AuthState.password_input,
                on_change=AuthState.set_password_input,
                width="100%",
            ),
            "person-password",
        ),
        width="100%",
        spacing="3",
    )


def _key_fields() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Enter your team's access key. This browser stays signed in until you sign out or "
            "the key is revoked.",
            size="2",
            color_scheme="gray",
        ),
        _field(
            "Access key",
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
            "access-key",
        ),
        width="100%",
        spacing="3",
    )


def sign_in_card() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Sign in to Aerie", size="5"),
                    rx.radio_group.root(
                        rx.hstack(
                            rx.el.label(
                                rx.radio_group.item(value="person", id="mode-person"),
                                rx.text("My name", size="2"),
                                style={"display": "flex", "gap": "6px", "alignItems": "center"},
                            ),
                            rx.el.label(
                                rx.radio_group.item(value="key", id="mode-key"),
                                rx.text("Team key", size="2"),
                                style={"display": "flex", "gap": "6px", "alignItems": "center"},
                            ),
                            spacing="4",
                        ),
                        value=AuthState.mode,
                        on_change=AuthState.set_mode,
                        aria_label="Sign in with",
                    ),
                    rx.cond(AuthState.mode == "person", _person_fields(), _key_fields()),
                    rx.cond(
                        AuthState.error != "",
                        rx.callout(
                            AuthState.error,
                            color_scheme="red",
                            size="1",
                            width="100%",
                            role="alert",
                            id="sign-in-error",
                        ),
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

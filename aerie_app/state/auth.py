"""Access: a person signs in with their name and password, or the team enters its key once (and, at
a shop kiosk, picks who is working from the roster); the browser keeps a revocable session token,
never the key or the password. What the page offers follows the role (aerie_app/permissions.py)."""

from __future__ import annotations

import asyncio

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.errors import AerieError, RateLimited
from aerie_app.models import Scope
from aerie_app.permissions import Permission, Role
from aerie_app.services import keys, people, throttle
from aerie_app.services.keys import SESSION_COOKIE


def _open_session(mode: str, name: str, secret: str, client: str) -> tuple[str, keys.Principal]:
    """Check a name and password (``mode`` "person") or a key, under their throttles; a new
    session token for the browser, and who it is."""
    with session_scope() as session:
        if mode == "person":
            principal = people.sign_in(session, name=name, password=secret, client=client)
        else:
            principal = throttle.verify_key(session, secret, client)
        return keys.open_session(session, principal), principal


class AuthState(rx.State):
    """Who is signed in, from the session token kept in the browser."""

    # A cookie (not localStorage) so the browser also sends it when it loads the part's GLB,
    # thumbnail or PDF from the API; SameSite=Strict keeps other sites from riding on it, and
    # the API accepts it for reads only.
    token: str = rx.Cookie("", name=SESSION_COOKIE, same_site="strict", max_age=30 * 24 * 3600)
    key_input: str = ""
    error: str = ""
    who: str = ""
    scope: str = ""
    role: str = ""
    # Signed in as a person (a password, a personal key, a kiosk pick): 0 for a team key alone.
    person_id: int = 0
    checked: bool = False
    # The sign-in form: "person" (name and password) or "key" (the team's key, a name picked).
    mode: str = "person"
    name_input: str = ""
    password_input: str = ""
    # A shop computer signed in with the team key: who is working there, picked from the roster.
    kiosk: bool = False
    roster: list[dict[str, str]] = []

    @rx.var
    def signed_in(self) -> bool:
        return self.scope != ""

    @rx.var
    def can_write(self) -> bool:
        return self.scope in (Scope.WRITE.value, Scope.ADMIN.value)

    @rx.var
    def is_admin(self) -> bool:
        return self.scope == Scope.ADMIN.value

    @rx.var
    def can_review(self) -> bool:
        """Creates, edits, uploads, approves, pins, imports (reviewers and admins)."""
        return self.role in (Role.REVIEWER.value, Role.ADMIN.value)

    @rx.var
    def signed_in_as(self) -> str:
        return f"{self.who} ({self.role})" if self.role else self.who

    @rx.event
    def set_key_input(self, value: str) -> None:
        self.key_input = value

    @rx.event
    def set_name_input(self, value: str) -> None:
        self.name_input = value[:100]

    @rx.event
    def set_password_input(self, value: str) -> None:
        self.password_input = value[:200]

    @rx.event
    def set_mode(self, value: str) -> None:
        self.mode = "key" if value == "key" else "person"
        self.error = ""

    def _show(self, principal: keys.Principal) -> None:
        self.who, self.scope = principal.name, principal.scope.value
        self.role = principal.effective_role.value
        self.person_id = principal.person_id or 0

    def _client(self) -> str:
        # The websocket's peer (Reflex's trusted_proxy_hops stays 0), then the API's proxy rule.
        router = self.router
        forwarded = router.headers.raw_headers.get("x-forwarded-for")
        return throttle.client_address(router.session.client_ip, forwarded)

    def _principal(self) -> keys.Principal | None:
        if not self.token:
            return None
        with session_scope() as session:
            try:
                return keys.resolve_session(session, self.token)
            except AerieError:
                return None

    @rx.event
    def check(self):  # type: ignore[no-untyped-def]
        principal = self._principal()
        self.checked = True
        if principal is None:
            self.who, self.scope, self.role, self.person_id = "", "", "", 0
            self._choose_form()
            return None
        self._show(principal)
        self._load_kiosk()
        return None

    def _choose_form(self) -> None:
        """Whether anyone can sign in with a password (then that is the form's first choice)."""
        with session_scope() as session:
            roster = people.list_people(session, active_only=True)
        self.mode = "person" if any(p.password_hash for p in roster) else "key"

    def _load_kiosk(self) -> None:
        """On a team key's session (a shop computer): the roster to pick who is working."""
        with session_scope() as session:
            self.kiosk = keys.is_team_key_session(session, self.token)
            roster = people.list_people(session, active_only=True) if self.kiosk else []
        self.roster = [{"id": str(p.id), "name": p.name} for p in roster]

    @rx.event
    def pick_person(self, value: str):  # type: ignore[no-untyped-def]
        """The shop computer's "who is working here": this browser's session acts as the picked
        person from now on (within the team key), or as the key alone ("")."""
        with session_scope() as session:
            try:
                if not keys.is_team_key_session(session, self.token):
                    return rx.toast.error("Only a shop computer signed in with the team key picks")
                principal = keys.resolve_session(session, self.token)
                key_only = keys.Principal(principal.key_id, principal.name, principal.scope)
                picked = people.pick_at_kiosk(session, int(value)).id if value else None
                old, self.token = self.token, keys.open_session(session, key_only, person_id=picked)
                keys.close_session(session, old)
            except (AerieError, ValueError):
                return rx.toast.error("Pick someone from the team's roster")
        return rx.call_script("window.location.reload()")

    @rx.event
    async def sign_in(self, form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        """A person's name and password, or the team key (a shop computer then picks who is
        working). The check runs in a thread: argon2 takes a tenth of a second of CPU by design,
        which must not hold up the other tabs' events."""
        client, data = self._client(), form or {}
        # The form says which it is (the field it submitted), else the chosen mode.
        mode = "key" if "key" in data else "person" if "password" in data else self.mode
        if mode == "person":
            name = data.get("name", self.name_input)
            secret = data.get("password", self.password_input)
        else:
            name, secret = "", data.get("key", self.key_input).strip()
        try:
            self.token, principal = await asyncio.to_thread(
                _open_session, mode, name, secret, client
            )
        except RateLimited as exc:
            what = "failed sign-ins" if mode == "person" else "wrong keys"
            self.error = f"Too many {what}; try again in {int(exc.retry_after) + 1} s."
            return None
        except AerieError:
            self.error = (
                "Wrong name or password." if mode == "person" else "That access key is not valid."
            )
            return None
        self.key_input = self.password_input = self.error = ""
        self._show(principal)
        # Reload so the page's own on_load runs again, now signed in.
        return rx.call_script("window.location.reload()")

    @rx.event
    def sign_out(self) -> None:
        if self.token:
            with session_scope() as session:
                keys.close_session(session, self.token)
        self.token, self.who, self.scope, self.role, self.person_id = "", "", "", "", 0

    async def require(self, needed: Scope | Permission) -> keys.Principal:
        """The signed-in principal if it may do this (a scope, or a role's permission), else an
        Aerie error for a toast."""
        from aerie_app.errors import AuthRequired, Forbidden

        principal = self._principal()
        if principal is None:
            self.who, self.scope, self.role, self.person_id = "", "", "", 0
            raise AuthRequired("Please sign in again")
        if isinstance(needed, Permission):
            principal.require(needed)
        elif not principal.can(needed):
            raise Forbidden(f"Your key is {principal.scope.value}-only")
        return principal

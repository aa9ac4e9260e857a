"""Access: the team enters its key once; the browser keeps a revocable session token, never the key."""

from __future__ import annotations

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.errors import AerieError, RateLimited
from aerie_app.models import Scope
from aerie_app.services import keys, throttle
from aerie_app.services.keys import SESSION_COOKIE


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
    checked: bool = False

    @rx.var
    def signed_in(self) -> bool:
        return self.scope != ""

    @rx.var
    def can_write(self) -> bool:
        return self.scope in (Scope.WRITE.value, Scope.ADMIN.value)

    @rx.var
    def is_admin(self) -> bool:
        return self.scope == Scope.ADMIN.value

    @rx.event
    def set_key_input(self, value: str) -> None:
        self.key_input = value

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
            self.who, self.scope = "", ""
            return None
        self.who, self.scope = principal.name, principal.scope.value
        return None

    @rx.event
    def sign_in(self, form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        raw = (form or {}).get("key", self.key_input).strip()
        # The websocket's peer (Reflex's trusted_proxy_hops stays 0), then the API's proxy rule.
        router = self.router
        forwarded = router.headers.raw_headers.get("x-forwarded-for")
        client = throttle.client_address(router.session.client_ip, forwarded)
        with session_scope() as session:
            try:
                principal = throttle.verify_key(session, raw, client)
            except RateLimited as exc:
                self.error = f"Too many wrong keys; try again in {int(exc.retry_after) + 1} s."
                return None
            except AerieError:
                self.error = "That access key is not valid."
                return None
            self.token = keys.open_session(session, principal)
        self.key_input, self.error = "", ""
        self.who, self.scope = principal.name, principal.scope.value
        # Reload so the page's own on_load runs again, now signed in.
        return rx.call_script("window.location.reload()")

    @rx.event
    def sign_out(self) -> None:
        if self.token:
            with session_scope() as session:
                keys.close_session(session, self.token)
        self.token, self.who, self.scope = "", "", ""

    async def require(self, needed: Scope) -> keys.Principal:
        """The signed-in principal if it may do this, else an Aerie error for a toast."""
        from aerie_app.errors import AuthRequired, Forbidden

        principal = self._principal()
        if principal is None:
            self.who, self.scope = "", ""
            raise AuthRequired("Please sign in again")
        if not principal.can(needed):
            raise Forbidden(f"Your key is {principal.scope.value}-only")
        return principal

"""API keys and browser sessions: stored as SHA-256 hashes, compared in constant time, never logged.

Keys are 32 random bytes, so a fast unsalted hash is the right tool (no password stretching needed):
the database lookup is by hash, and the final comparison uses ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.db import begin_write, session_scope
from aerie_app.errors import Forbidden, InvalidApiKey, NotFound, ValidationFailed
from aerie_app.models import ApiKey, Person, Scope, UiSession, utcnow
from aerie_app.permissions import SCOPES, Permission, Role, allows, refusal, role_for_scope, weaker
from aerie_app.settings import API_KEY_MIN_LENGTH, get_settings

KEY_PREFIX = "aerie_"
SESSION_COOKIE = "aerie_session"
SESSION_DAYS = 30
log = logging.getLogger("aerie.keys")


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's or a person's name, scope and role (never the key itself).

    ``key_id``: the key used (None for a person signed in with a password); ``person_id``: the
    person acting (a personal key, a password sign-in, a kiosk pick); ``role``: None for the
    team's shared keys, whose role follows their scope (permissions.role_for_scope)."""

    key_id: int | None
    name: str
    scope: Scope
    role: Role | None = None
    person_id: int | None = None

    def can(self, needed: Scope) -> bool:
        return self.scope.allows(needed)

    @property
    def effective_role(self) -> Role:
        return self.role or role_for_scope(self.scope)

    def may(self, permission: Permission) -> bool:
        return self.can(Scope.READ) and allows(self.effective_role, permission)

    def require(self, permission: Permission) -> None:
        """:class:`Forbidden` unless this caller's role allows ``permission``."""
        if not self.may(permission):
            raise Forbidden(refusal(self.effective_role, permission))


def new_raw_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


_GENERATED = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{43}")


def looks_generated(raw: str) -> bool:
    """Shaped like :func:`new_raw_key`'s output (256 random bits): no point throttling guesses of it.

    Decided from the caller's own input only, never from what is stored, so it reveals nothing.
    """
    return _GENERATED.fullmatch(raw or "") is not None


def create_key(
    session: Session, *, name: str, scope: Scope, raw: str | None = None, role: Role | None = None
) -> tuple[ApiKey, str]:
    """A new key; the raw value is returned once and only its hash is stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("name", "Key name is required (at most 100 characters)")
    raw = raw or new_raw_key()
    if len(raw) < API_KEY_MIN_LENGTH:
        raise ValidationFailed(
            "key", f"An API key must be at least {API_KEY_MIN_LENGTH} characters"
        )
    digest = hash_key(raw)
    begin_write(session)
    existing = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if existing is not None:
        if existing.revoked_at is not None:
            existing.revoked_at = None
            session.add(existing)
            session.commit()
        return existing, raw
    key = ApiKey(
        name=name,
        scope=scope.value,
        key_hash=digest,
        prefix=raw[:10],
        role=role.value if role is not None else None,
    )
    session.add(key)
    session.commit()
    return key, raw


# Verified keys, by hash, for a few seconds: a script's requests then cost no key lookup. Only keys
# that verified are kept (a wrong key always reaches the database, and the throttle). A revocation
# clears this process's cache at once; other server processes forget the key within VERIFIED_TTL_S.
VERIFIED_TTL_S = 5.0
VERIFIED_MAX = 1024
_verified: dict[str, tuple[Principal, float]] = {}
_verified_lock = threading.Lock()


def forget_verified() -> None:
    """Drop every cached verification (after a revocation, a restore, a wipe; tests)."""
    with _verified_lock:
        _verified.clear()


def verify_key(session: Session, raw: str) -> Principal:
    """The principal for a raw key, or :class:`InvalidApiKey`."""
    digest = hash_key(raw or "")
    now_s = time.monotonic()
    with _verified_lock:
        hit = _verified.get(digest)
    if hit is not None and now_s - hit[1] < VERIFIED_TTL_S:
        return hit[0]
    principal = _verify_stored(session, digest)
    with _verified_lock:
        if len(_verified) >= VERIFIED_MAX:
            _verified.clear()
        _verified[digest] = (principal, now_s)
    return principal


def _verify_stored(session: Session, digest: str) -> Principal:
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    # compare_digest keeps the final check constant-time even though the lookup is by hash.
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at:
        raise InvalidApiKey()
    now = utcnow()
    assert key.id is not None
    principal = key_principal(session, key)
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        _note_used(key.id, now)
    return principal


def key_principal(session: Session, key: ApiKey) -> Principal:
    """What a valid key acts as: its person (their name and role as they are now), else itself."""
    assert key.id is not None
    if key.person_id is None:
        role = Role(key.role) if key.role else None
        return Principal(key.id, key.name, Scope(key.scope), role)
    person = session.get(Person, key.person_id)
    if person is None or not person.active:
        raise InvalidApiKey()
    role = Role(person.role)
    return Principal(key.id, person.name, SCOPES[role], role, person.id)


def _person_principal(person: Person | None, issued: datetime) -> Principal:
    valid_after = person.sessions_valid_after if person is not None else None
    if person is None or not person.active or (valid_after is not None and issued < valid_after):
        raise InvalidApiKey("Session expired; sign in again")
    role = Role(person.role)
    return Principal(None, person.name, SCOPES[role], role, person.id)


# Last-used stamps, batched: verifying a key only notes the time in memory, and a background
# thread stores the stamps every STAMP_FLUSH_S. Verification never writes, so it never waits for
# the database's write lock (it runs on the event loop). A stamp is about a minute fresh at best
# anyway (see above); one still in memory when the process dies is lost, which costs nothing.
STAMP_FLUSH_S = 15.0
_stamps: dict[int, datetime] = {}
_stamps_url: str | None = None  # the database they belong to (tests switch databases)
_stamps_lock = threading.Lock()
_stamp_writer: tuple[int, threading.Thread] | None = None  # (pid, thread): a fork starts its own


def _note_used(key_id: int, when: datetime) -> None:
    global _stamp_writer, _stamps_url
    url = get_settings().resolved_database_url
    with _stamps_lock:
        if _stamps_url != url:
            _stamps.clear()
            _stamps_url = url
        _stamps[key_id] = when
        if _stamp_writer is None or _stamp_writer[0] != os.getpid():
            thread = threading.Thread(
                target=_write_stamps_forever, name="aerie-key-stamps", daemon=True
            )
            _stamp_writer = (os.getpid(), thread)
            thread.start()


def _write_stamps_forever() -> None:
    while True:
        time.sleep(STAMP_FLUSH_S)
        try:
            flush_last_used()
        except Exception:  # the database is away for a moment: keep the stamps for next time
            log.warning("Could not store API keys' last-used times; will retry", exc_info=True)


def flush_last_used(session: Session | None = None) -> int:
    """Store the noted last-used stamps now; returns how many keys were stamped."""
    with _stamps_lock:
        pending = dict(_stamps) if _stamps_url == get_settings().resolved_database_url else {}
        _stamps.clear()
    if not pending:
        return 0
    try:
        if session is None:
            with session_scope() as own:
                _store_stamps(own, pending)
        else:
            _store_stamps(session, pending)
    except Exception:
        with _stamps_lock:  # put them back unless a newer stamp arrived meanwhile
            for key_id, when in pending.items():
                _stamps.setdefault(key_id, when)
        raise
    return len(pending)


def _store_stamps(session: Session, pending: dict[int, datetime]) -> None:
    begin_write(session)
    for key_id, when in pending.items():
        session.execute(sa.update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=when))
    session.commit()


def list_keys(session: Session) -> Sequence[ApiKey]:
    flush_last_used(session)  # what this process noted shows at once
    return session.exec(select(ApiKey).order_by(col(ApiKey.id))).all()


def revoke_key(session: Session, key_id: int) -> ApiKey:
    begin_write(session)
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key not found", {"id": key_id})
    key.revoked_at = key.revoked_at or utcnow()
    session.add(key)
    session.commit()
    forget_verified()
    return key


def has_admin_key(session: Session) -> bool:
    stmt = select(ApiKey.id).where(
        ApiKey.scope == Scope.ADMIN.value, col(ApiKey.revoked_at).is_(None)
    )
    return session.exec(stmt).first() is not None


def bootstrap_admin(session: Session, *, configured: str | None) -> str | None:
    """Make sure an admin key exists. Returns a newly generated raw key (to print once), else None.

    With ``configured`` (``AERIE_API_KEY``) that value is an admin key.
    """
    if configured:
        create_key(session, name="admin (AERIE_API_KEY)", scope=Scope.ADMIN, raw=configured)
        return None
    if has_admin_key(session):
        return None
    _, raw = create_key(session, name="admin", scope=Scope.ADMIN)
    return raw


def open_session(session: Session, principal: Principal, *, person_id: int | None = None) -> str:
    """A browser session token bound to a key, a person, or both (a kiosk: the team's key and
    the person picked from the roster). Revoking the key or deactivating the person ends it."""
    token = secrets.token_urlsafe(32)
    begin_write(session)
    session.add(
        UiSession(
            token_hash=hash_key(token),
            api_key_id=principal.key_id,
            person_id=person_id if person_id is not None else principal.person_id,
            expires_at=utcnow() + timedelta(days=SESSION_DAYS),
        )
    )
    session.commit()
    return token


def resolve_session(session: Session, token: str) -> Principal:
    digest = hash_key(token or "")
    row = session.exec(select(UiSession).where(UiSession.token_hash == digest)).first()
    if row is None or row.revoked_at or row.expires_at < utcnow():
        raise InvalidApiKey("Session expired; sign in again")
    person = session.get(Person, row.person_id) if row.person_id is not None else None
    if row.api_key_id is None:
        return _person_principal(person, row.created_at)
    key = session.get(ApiKey, row.api_key_id)
    if key is None or key.revoked_at:
        raise InvalidApiKey("Session expired; sign in again")
    shared = key_principal(session, key)
    if row.person_id is None:
        return shared
    # A kiosk: the picked person acts, with no more than the shared key allows.
    picked = _person_principal(person, row.created_at)
    role = weaker(picked.effective_role, shared.effective_role)
    scope = SCOPES[role] if shared.scope.allows(SCOPES[role]) else shared.scope
    return Principal(shared.key_id, picked.name, scope, role, picked.person_id)


def is_team_key_session(session: Session, token: str) -> bool:
    """A browser signed in with a key that belongs to nobody (a shop computer): it may pick who
    is working from the roster."""
    row = session.exec(
        select(UiSession).where(UiSession.token_hash == hash_key(token or ""))
    ).first()
    if row is None or row.api_key_id is None:
        return False
    key = session.get(ApiKey, row.api_key_id)
    return key is not None and key.person_id is None


def close_session(session: Session, token: str) -> None:
    begin_write(session)
    row = session.exec(select(UiSession).where(UiSession.token_hash == hash_key(token))).first()
    if row is not None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()


def key_public(key: ApiKey) -> dict[str, object]:
    from aerie_app.schemas import iso

    return {
        "id": key.id,
        "name": key.name,
        "scope": key.scope,
        "prefix": key.prefix,
        "personId": key.person_id,
        "role": key.role or role_for_scope(key.scope).value,
        "createdAt": iso(key.created_at),
        "lastUsedAt": iso(key.last_used_at),
        "revoked": key.revoked_at is not None,
    }

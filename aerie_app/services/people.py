"""People: the team's roster, personal sign-in and personal keys.

Passwords are hashed with argon2 (pwdlib's recommended hasher) and never stored, logged or
returned. A wrong name costs the same as a wrong password (a dummy hash is checked), so the answer
and its timing never tell whether a name exists. Failed sign-ins are throttled per account and per
client (services/throttle.py, shared by every worker). A person is deactivated, never deleted: the
timeline keeps their name, their sessions and keys stop at once. A password reset (by an admin)
ends the person's open sessions too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pwdlib import PasswordHash
from sqlmodel import Session, col, select

from aerie_app.db import begin_write
from aerie_app.errors import Conflict, InvalidApiKey, NotFound, RateLimited, ValidationFailed
from aerie_app.models import ApiKey, Person, utcnow
from aerie_app.permissions import SCOPES, Role
from aerie_app.services import keys

log = logging.getLogger("aerie.people")
NAME_MAX = 100
PASSWORD_MIN = 8
PASSWORD_MAX = 200
# Failed sign-ins: per account over 15 minutes (a guesser spread over many addresses), and per
# client over a minute (one address guessing many names).
ACCOUNT_FAIL_LIMIT = 10
ACCOUNT_WINDOW_S = 15 * 60.0
WRONG = "Wrong name or password"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not anyone's password")


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _clean_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed("name", "A person needs a name")
    name = " ".join(raw.split())
    if len(name) > NAME_MAX:
        raise ValidationFailed("name", f"A name is at most {NAME_MAX} characters")
    return name


def _role(raw: Any) -> Role:
    try:
        return Role(raw)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ValidationFailed("role", f"role must be one of {choices}") from None


def _password(raw: Any) -> str:
    if not isinstance(raw, str) or not PASSWORD_MIN <= len(raw) <= PASSWORD_MAX:
        raise ValidationFailed(
            "password", f"A password is {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        )
    return raw


def person_public(person: Person) -> dict[str, Any]:
    from aerie_app.schemas import iso

    return {
        "id": person.id,
        "name": person.name,
        "role": person.role,
        "active": person.active,
        "canSignIn": person.password_hash is not None,
        "createdAt": iso(person.created_at),
        "deactivatedAt": iso(person.deactivated_at),
    }


def list_people(session: Session, *, active_only: bool = False) -> Sequence[Person]:
    stmt = select(Person).order_by(col(Person.name_key))
    if active_only:
        stmt = stmt.where(col(Person.active))
    return session.exec(stmt).all()


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("Person not found", {"id": person_id})
    return person


def create_person(
    session: Session, *, name: Any, role: Any = Role.FABRICATOR.value, password: Any = None
) -> Person:
    """A new person; without a password they can only be picked at a kiosk."""
    clean = _clean_name(name)
    person = Person(
        name=clean,
        name_key=name_key(clean),
        role=_role(role).value,
        password_hash=_hasher().hash(_password(password)) if password is not None else None,
    )
    begin_write(session)
    if session.exec(select(Person.id).where(Person.name_key == person.name_key)).first():
        session.rollback()
        raise Conflict(f"Someone is already called {clean!r}", {"field": "name"})
    session.add(person)
    session.commit()
    session.refresh(person)
    return person


def update_person(
    session: Session,
    person_id: int,
    *,
    name: Any = None,
    role: Any = None,
    active: bool | None = None,
    password: Any = None,
    clear_password: bool = False,
) -> Person:
    """Rename, change the role, (de)activate or reset the password (which ends open sessions)."""
    clean = _clean_name(name) if name is not None else None
    new_role = _role(role) if role is not None else None
    new_hash = _hasher().hash(_password(password)) if password is not None else None
    begin_write(session)
    person = get_person(session, person_id)
    now = utcnow()
    if clean is not None and clean != person.name:
        key = name_key(clean)
        taken = session.exec(
            select(Person.id).where(Person.name_key == key, Person.id != person_id)
        ).first()
        if taken:
            session.rollback()
            raise Conflict(f"Someone is already called {clean!r}", {"field": "name"})
        person.name, person.name_key = clean, key
    if new_role is not None:
        person.role = new_role.value
    if active is not None and active != person.active:
        person.active = active
        person.deactivated_at = None if active else now
        if not active:
            person.sessions_valid_after = now
    if new_hash is not None or clear_password:
        person.password_hash = new_hash
        person.sessions_valid_after = now
    session.add(person)
    session.commit()
    session.refresh(person)
    keys.forget_verified()  # a personal key answers with the new role or not at all, at once
    return person


def _check_password(person: Person | None, password: str) -> bool:
    """argon2 verification; a missing person or password still costs one verification."""
    stored = person.password_hash if person is not None else None
    ok = _hasher().verify(password, stored or _dummy_hash())
    return bool(ok and person is not None and stored is not None and person.active)


def sign_in(session: Session, *, name: Any, password: Any, client: str) -> keys.Principal:
    """The person with this name and password, under the per-account and per-client throttles.

    Every failure is the same :class:`InvalidApiKey` (``WRONG``); :class:`RateLimited` when the
    account or the client has failed too often lately.
    """
    from aerie_app.services.throttle import login_accounts, login_clients, login_limit

    text_name = name if isinstance(name, str) else ""
    text_password = password if isinstance(password, str) else ""
    account = "acct:" + keys.hash_key(name_key(text_name))[:40]
    for window, who, limit in (
        (login_clients, client, login_limit()),
        (login_accounts, account, ACCOUNT_FAIL_LIMIT),
    ):
        failures, retry = window.count(who)
        if failures >= limit:
            raise RateLimited("Too many failed sign-ins; wait and try again", retry)
    person = session.exec(select(Person).where(Person.name_key == name_key(text_name))).first()
    if not text_name.strip() or len(text_password) > PASSWORD_MAX:
        person = None
    if not _check_password(person, text_password[:PASSWORD_MAX]):
        login_clients.add(client)
        login_accounts.add(account)
        raise InvalidApiKey(WRONG)
    assert person is not None and person.id is not None
    role = Role(person.role)
    return keys.Principal(None, person.name, SCOPES[role], role, person.id)


def pick_at_kiosk(session: Session, person_id: int) -> Person:
    """A person picked from the roster at a kiosk (the shared key's session): active only."""
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise ValidationFailed("person", "Pick someone from the team's roster")
    return person


def create_personal_key(session: Session, person_id: int, *, name: Any) -> tuple[ApiKey, str]:
    """An API key that acts as this person, with their role as it is whenever it is used."""
    person = get_person(session, person_id)
    if not person.active:
        raise Conflict(f"{person.name} is deactivated", {"field": "person"})
    label = name if isinstance(name, str) and name.strip() else f"{person.name}'s key"
    key, raw = keys.create_key(session, name=label[:100], scope=SCOPES[Role(person.role)])
    begin_write(session)
    stored = session.get(ApiKey, key.id)
    assert stored is not None
    stored.person_id = person.id
    session.add(stored)
    session.commit()
    session.refresh(stored)
    return stored, raw


def loose_names(session: Session) -> list[dict[str, Any]]:
    """Names typed before people existed (claims, imports, legacy data) that match nobody on the
    roster, with how many parts use each: what the admin's merge tool offers."""
    from collections import Counter

    import sqlalchemy as sa

    from aerie_app.models import Part, PartWorker

    known = {p.name_key for p in list_people(session)}
    counts: Counter[str] = Counter()
    assigned = session.execute(
        sa.select(col(Part.assigned), sa.func.count())
        .where(col(Part.assigned).is_not(None))
        .group_by(col(Part.assigned))
    ).all()
    workers = session.execute(
        sa.select(col(PartWorker.name), sa.func.count()).group_by(col(PartWorker.name))
    ).all()
    for name, n in [*assigned, *workers]:
        if not name or not str(name).strip() or name_key(str(name)) in known:
            continue
        counts[str(name)] += int(n)
    return [
        {"name": name, "parts": n}
        for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    ]


def merge_names(session: Session, person_id: int, names: Any, *, actor: str) -> dict[str, int]:
    """Every part claimed or worked on under one of ``names`` (compared without case or extra
    spaces) is credited to this person from now on: its maker, its workers, its timeline's
    actors. One timeline line per part says so. Returns how many rows changed."""
    import sqlalchemy as sa

    from aerie_app.models import Part, PartEvent, PartWorker

    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(n, str) and n.strip() for n in names)
    ):
        raise ValidationFailed("names", "names must be a list of the spellings to merge")
    keys_ = {name_key(n) for n in names}
    begin_write(session)
    person = get_person(session, person_id)
    if person.name_key in keys_:
        keys_.discard(person.name_key)
    target = person.name
    now = utcnow()

    part_ids: set[int] = set()
    parts_changed = 0
    for pid, assigned, version in session.execute(
        sa.select(col(Part.id), col(Part.assigned), col(Part.version)).where(
            col(Part.assigned).is_not(None)
        )
    ).all():
        if assigned and name_key(assigned) in keys_:
            session.execute(
                sa.update(Part)
                .where(col(Part.id) == pid)
                .values(assigned=target, version=version + 1, updated_at=now)
            )
            part_ids.add(int(pid))
            parts_changed += 1
    workers_changed = 0
    for wid, pid, name in session.execute(
        sa.select(col(PartWorker.id), col(PartWorker.part_id), col(PartWorker.name))
    ).all():
        if name_key(name) not in keys_:
            continue
        already = session.exec(
            select(PartWorker.id).where(PartWorker.part_id == pid, PartWorker.name == target)
        ).first()
        if already:
            session.execute(sa.delete(PartWorker).where(col(PartWorker.id) == wid))
        else:
            session.execute(
                sa.update(PartWorker).where(col(PartWorker.id) == wid).values(name=target)
            )
        part_ids.add(int(pid))
        workers_changed += 1
    events_changed = 0
    for eid, pid, who in session.execute(
        sa.select(col(PartEvent.id), col(PartEvent.part_id), col(PartEvent.actor)).where(
            col(PartEvent.actor).is_not(None)
        )
    ).all():
        base = who.split(" (key: ", 1)[0]
        if name_key(base) in keys_:
            session.execute(
                sa.update(PartEvent)
                .where(col(PartEvent.id) == eid)
                .values(actor=target + who[len(base) :])
            )
            part_ids.add(int(pid))
            events_changed += 1
    shown = ", ".join(sorted({n.strip() for n in names}))
    for pid in sorted(part_ids):
        session.add(
            PartEvent(
                part_id=pid,
                kind="people",
                actor=actor[:200],
                note=f"Names merged into {target}: {shown}"[:2000],
            )
        )
    session.commit()
    return {"parts": parts_changed, "workers": workers_changed, "events": events_changed}

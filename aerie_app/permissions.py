"""Who may do what: four roles and one table (pure data, no I/O; unit-tested role × permission).

A person has a role; an API key carries its person's role, or its own when it belongs to an
integration; the team's shared keys keep their old meaning through :func:`role_for_scope` (a
write key acts as a reviewer, as every script did before people existed). The API and the UI both
ask :func:`allows`; the scope check (read / write / admin) stays the coarse gate in front of it.
"""

from __future__ import annotations

import enum

from aerie_app.models import Scope
from aerie_app.workflow import Action


class Role(enum.StrEnum):
    VIEWER = "viewer"  # looks: the board, parts, models, stats
    FABRICATOR = "fabricator"  # makes parts: claims, completes, ticks review pins
    REVIEWER = "reviewer"  # decides what gets made: creates, edits, approves, pins, imports
    ADMIN = "admin"  # runs Aerie: people, keys, shop settings, webhooks, backups, wipe


class Permission(enum.StrEnum):
    READ = "read"
    CLAIM = "claim"  # assign, start, unclaim
    COMPLETE = "complete"
    TICK_PIN = "tick_pin"
    WEIGH = "weigh"  # the measured mass, typed at the scale
    CREATE_PART = "create_part"
    EDIT_PART = "edit_part"
    DELETE_PART = "delete_part"
    UPLOAD = "upload"  # CAD and drawings, conversions, Onshape drawings
    APPROVE = "approve"
    REVERT = "revert"  # back from Completed
    MARK_INCORRECT = "mark_incorrect"  # and correct again
    PIN = "pin"  # add, reword, keep or remove review pins
    IMPORT = "import"  # spreadsheets and Onshape BOMs
    MANAGE_SHOP = "manage_shop"  # machines, stock, shop settings
    MANAGE_PEOPLE = "manage_people"
    MANAGE_KEYS = "manage_keys"
    WEBHOOKS = "webhooks"
    BACKUP = "backup"
    WIPE = "wipe"


_FABRICATOR = frozenset(
    {Permission.READ, Permission.CLAIM, Permission.COMPLETE, Permission.TICK_PIN, Permission.WEIGH}
)
_REVIEWER = _FABRICATOR | {
    Permission.CREATE_PART,
    Permission.EDIT_PART,
    Permission.DELETE_PART,
    Permission.UPLOAD,
    Permission.APPROVE,
    Permission.REVERT,
    Permission.MARK_INCORRECT,
    Permission.PIN,
    Permission.IMPORT,
}
TABLE: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.FABRICATOR: _FABRICATOR,
    Role.REVIEWER: frozenset(_REVIEWER),
    Role.ADMIN: frozenset(Permission),
}

# Each workflow action's permission (delete is Permission.DELETE_PART, not an Action).
ACTIONS: dict[Action, Permission] = {
    Action.APPROVE: Permission.APPROVE,
    Action.ASSIGN: Permission.CLAIM,
    Action.START: Permission.CLAIM,
    Action.UNCLAIM: Permission.CLAIM,
    Action.COMPLETE: Permission.COMPLETE,
    Action.REVERT: Permission.REVERT,
    Action.MARK_INCORRECT: Permission.MARK_INCORRECT,
    Action.MARK_CORRECT: Permission.MARK_INCORRECT,
    Action.REOPEN_REVIEW: Permission.EDIT_PART,
}

# What each role may do at most through the scope gate: a person's session or key gets this scope.
SCOPES: dict[Role, Scope] = {
    Role.VIEWER: Scope.READ,
    Role.FABRICATOR: Scope.WRITE,
    Role.REVIEWER: Scope.WRITE,
    Role.ADMIN: Scope.ADMIN,
}

LABELS: dict[Permission, str] = {
    Permission.READ: "see parts",
    Permission.CLAIM: "claim or release parts",
    Permission.COMPLETE: "complete parts",
    Permission.TICK_PIN: "tick review pins",
    Permission.WEIGH: "record measured mass",
    Permission.CREATE_PART: "create parts",
    Permission.EDIT_PART: "edit parts",
    Permission.DELETE_PART: "delete parts",
    Permission.UPLOAD: "upload files",
    Permission.APPROVE: "approve parts",
    Permission.REVERT: "revert completed parts",
    Permission.MARK_INCORRECT: "mark parts incorrect",
    Permission.PIN: "place review pins",
    Permission.IMPORT: "import parts",
    Permission.MANAGE_SHOP: "change the shop's machines and stock",
    Permission.MANAGE_PEOPLE: "manage people",
    Permission.MANAGE_KEYS: "manage API keys",
    Permission.WEBHOOKS: "manage webhooks",
    Permission.BACKUP: "make or restore backups",
    Permission.WIPE: "wipe the season",
}


def allows(role: Role | str, permission: Permission) -> bool:
    try:
        return permission in TABLE[Role(role)]
    except ValueError:
        return False  # an unknown role may do nothing


def role_for_scope(scope: Scope | str) -> Role:
    """The role of a key that belongs to nobody (the team's shared keys, integrations)."""
    return {
        Scope.READ: Role.VIEWER,
        Scope.WRITE: Role.REVIEWER,
        Scope.ADMIN: Role.ADMIN,
    }[Scope(scope)]


def weaker(a: Role, b: Role) -> Role:
    """The role allowed less of the two (a kiosk: the person, but no more than the shared key)."""
    order = [Role.VIEWER, Role.FABRICATOR, Role.REVIEWER, Role.ADMIN]
    return a if order.index(a) <= order.index(b) else b


def refusal(role: Role | str, permission: Permission) -> str:
    """The 403's words: who may not do what."""
    return f"A {Role(role).value} may not {LABELS[permission]}"

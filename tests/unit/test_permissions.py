"""The permission table, cell by cell: every role × every permission, written out by hand here
(not derived from the code's table), so a change to who may do what has to be made twice."""

from __future__ import annotations

import pytest

from aerie_app.errors import Forbidden
from aerie_app.models import Scope
from aerie_app.permissions import (
    ACTIONS,
    Permission,
    Role,
    allows,
    refusal,
    role_for_scope,
    weaker,
)
from aerie_app.services.keys import Principal
from aerie_app.workflow import Action

V, F, R, A = "viewer", "fabricator", "reviewer", "admin"
EXPECTED: dict[str, set[str]] = {
    "read": {V, F, R, A},
    "claim": {F, R, A},
    "complete": {F, R, A},
    "tick_pin": {F, R, A},
    "weigh": {F, R, A},
    "create_part": {R, A},
    "edit_part": {R, A},
    "delete_part": {R, A},
    "upload": {R, A},
    "approve": {R, A},
    "revert": {R, A},
    "mark_incorrect": {R, A},
    "pin": {R, A},
    "import": {R, A},
    "manage_shop": {A},
    "manage_people": {A},
    "manage_keys": {A},
    "webhooks": {A},
    "backup": {A},
    "wipe": {A},
}
pytestmark = pytest.mark.unit


def test_the_table_names_every_permission() -> None:
    assert set(EXPECTED) == {p.value for p in Permission}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_every_role_and_permission(role: Role, permission: Permission) -> None:
    assert allows(role, permission) is (role.value in EXPECTED[permission.value])
    principal = Principal(None, "someone", Scope.ADMIN, role, 1)
    assert principal.may(permission) is (role.value in EXPECTED[permission.value])


@pytest.mark.parametrize("action", list(Action))
def test_every_workflow_action_has_a_permission(action: Action) -> None:
    assert action in ACTIONS
    # A fabricator makes parts; deciding what gets made (approve, revert, incorrect) is a reviewer's.
    maker_may = {Action.ASSIGN, Action.START, Action.UNCLAIM, Action.COMPLETE}
    assert allows(Role.FABRICATOR, ACTIONS[action]) is (action in maker_may)
    assert allows(Role.REVIEWER, ACTIONS[action]) and not allows(Role.VIEWER, ACTIONS[action])


def test_unknown_roles_may_do_nothing() -> None:
    assert not allows("owner", Permission.READ)


def test_team_keys_keep_their_old_powers() -> None:
    assert role_for_scope(Scope.READ) is Role.VIEWER
    assert role_for_scope(Scope.WRITE) is Role.REVIEWER  # old scripts approve and edit
    assert role_for_scope(Scope.ADMIN) is Role.ADMIN
    script = Principal(3, "script", Scope.WRITE)
    assert script.effective_role is Role.REVIEWER and script.may(Permission.APPROVE)
    assert not script.may(Permission.MANAGE_PEOPLE)


def test_a_kiosk_is_the_weaker_of_person_and_key() -> None:
    assert weaker(Role.ADMIN, Role.REVIEWER) is Role.REVIEWER
    assert weaker(Role.FABRICATOR, Role.REVIEWER) is Role.FABRICATOR
    assert weaker(Role.VIEWER, Role.ADMIN) is Role.VIEWER


def test_a_refusal_says_who_may_not_do_what() -> None:
    assert refusal(Role.FABRICATOR, Permission.APPROVE) == "A fabricator may not approve parts"
    with pytest.raises(Forbidden) as info:
        Principal(None, "Ada", Scope.WRITE, Role.FABRICATOR, 2).require(Permission.DELETE_PART)
    assert info.value.status_code == 403
    assert info.value.message == "A fabricator may not delete parts"

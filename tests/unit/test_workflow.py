"""The workflow, table-driven over the same TRANSITIONS data the app uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from aerie_app import workflow
from aerie_app.errors import Conflict, ValidationFailed
from aerie_app.models import Category, PartType, Status
from aerie_app.workflow import TRANSITIONS, Action

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@dataclass
class FakePart:
    type: str | None = "cnc"
    category: str = "review"
    status: str = "Pending"
    assigned: str | None = None
    amount: int = 1
    quantity_done: int = 0
    misc_info: dict[str, Any] | None = field(default_factory=dict)


def run(action: Action, part: FakePart) -> workflow.Change:
    if action is Action.APPROVE:
        return workflow.approve(part, reviewer="Ann")
    if action is Action.ASSIGN:
        return workflow.assign(part, name="Bob", now=NOW)
    if action is Action.START:
        return workflow.start(part, name=None, now=NOW)
    if action is Action.UNCLAIM:
        return workflow.unclaim(part)
    if action is Action.COMPLETE:
        return workflow.complete(part, now=NOW)
    if action is Action.REVERT:
        return workflow.revert(part)
    if action is Action.REOPEN_REVIEW:
        return workflow.reopen_review(part, reason="Geometry changed")
    if action is Action.MARK_INCORRECT:
        return workflow.mark_incorrect(part, incorrect=True)
    return workflow.mark_incorrect(part, incorrect=False)


CASES = list(itertools.product(Action, Category, Status, [None, "Zoe"], [False, True]))


@pytest.mark.parametrize(("action", "category", "status", "assigned", "incorrect"), CASES)
def test_action_allowed_exactly_per_table(
    action: Action, category: Category, status: Status, assigned: str | None, incorrect: bool
) -> None:
    part = FakePart(
        category=category.value,
        status=status.value,
        assigned=assigned,
        misc_info={"completedIncorrectly": incorrect},
    )
    rule = TRANSITIONS[action]
    expected = category in rule.categories and status in rule.statuses
    if action is Action.MARK_INCORRECT:
        expected = expected and not incorrect
    if action is Action.MARK_CORRECT:
        expected = expected and incorrect
    if action is Action.UNCLAIM:
        expected = expected and (assigned is not None or status is Status.IN_PROGRESS)
    assert workflow.is_allowed(part, action) is expected
    # System actions are taken by Aerie, never offered to a person.
    offered = expected and action not in workflow.SYSTEM_ACTIONS
    assert (action in workflow.allowed_actions(part)) is offered
    if expected:
        if action is Action.ASSIGN and assigned and status is Status.IN_PROGRESS:
            with pytest.raises(Conflict):
                run(action, part)
            return
        change = run(action, part)
        assert change.action in (action, Action.START)
    else:
        with pytest.raises(Conflict) as err:
            run(action, part)
        assert err.value.status_code == 409
        assert err.value.details["allowed"] == [a.value for a in workflow.allowed_actions(part)]


@pytest.mark.parametrize("kind", list(PartType))
def test_approve_moves_to_type_queue(kind: PartType) -> None:
    change = workflow.approve(FakePart(type=kind.value), reviewer="Ann", fields={"tap": "10-32"})
    assert change.fields["category"] == kind.value
    assert change.fields["status"] == Status.REVIEWED.value
    assert change.fields["misc_info"] == {"reviewer": "Ann", "tap": "10-32"}


def test_approving_a_part_that_fits_no_machine_needs_confirmation() -> None:
    part = FakePart()
    with pytest.raises(Conflict) as err:
        workflow.approve(
            part, reviewer="Ann", no_fit_reason="130 mm > 100 mm Laser bed by 30 mm on X"
        )
    assert err.value.details["confirm"] == "confirmNoFit"
    assert "130 mm > 100 mm" in err.value.message
    change = workflow.approve(
        part, reviewer="Ann", no_fit_reason="130 mm > 100 mm Laser bed", confirm_no_fit=True
    )
    assert change.fields["category"] == "cnc"
    assert (
        change.note
        == "Reviewed by Ann; Approved although it fits no machine: 130 mm > 100 mm Laser bed"
    )
    # Approving an already approved part again (to change the reviewer) never asks.
    again = FakePart(category="cnc", status="Reviewed")
    assert (
        workflow.approve(again, reviewer="Bo", no_fit_reason="too big").fields["category"] == "cnc"
    )


@pytest.mark.parametrize(
    ("category", "status"),
    [
        ("cnc", "In Progress"),
        ("hand", "Already Started"),
        ("misc", "Reviewed"),
        ("completed", "Completed"),
    ],
)
def test_reopen_review_clears_work_done(category: str, status: str) -> None:
    part = FakePart(
        category=category,
        status=status,
        assigned="Zoe",
        amount=3,
        quantity_done=2,
        misc_info={"completed_at": "x", "completedIncorrectly": True, "reviewer": "Ann"},
    )
    change = workflow.reopen_review(part, reason="Geometry changed")
    assert change.fields["category"] == "review" and change.fields["status"] == "Pending"
    assert change.fields["assigned"] is None and change.fields["quantity_done"] == 0
    assert change.fields["misc_info"] == {"reviewer": "Ann"}
    assert change.note == "Geometry changed"


@pytest.mark.parametrize("bad", [None, "", "laser", "hand-fab"])
def test_approve_unknown_type_is_a_validation_error(bad: str | None) -> None:
    with pytest.raises(ValidationFailed) as err:
        workflow.approve(FakePart(type=bad), reviewer=None)
    assert err.value.field == "type"


def test_assign_hand_part_appends_worker_once() -> None:
    part = FakePart(type="hand", category="hand", status="Reviewed")
    change = workflow.assign(part, name="Bob", now=NOW)
    assert change.fields["misc_info"]["handWorkers"] == [
        {"name": "Bob", "timestamp": NOW.isoformat()}
    ]
    part.misc_info = change.fields["misc_info"]
    part.status, part.assigned = "In Progress", "Bob"
    again = workflow.assign(part, name="Bob", now=NOW)
    assert len(again.fields["misc_info"]["handWorkers"]) == 1


def test_assign_requires_a_name() -> None:
    with pytest.raises(ValidationFailed):
        workflow.assign(FakePart(category="cnc", status="Reviewed"), name="  ", now=NOW)


def test_assign_someone_elses_part_conflicts() -> None:
    part = FakePart(category="cnc", status="In Progress", assigned="Zoe")
    with pytest.raises(Conflict, match="Already claimed by Zoe"):
        workflow.assign(part, name="Bob", now=NOW)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("In Progress", "Already Started"), ("Reviewed", "Pending")],
)
def test_unclaim_status(status: str, expected: str) -> None:
    part = FakePart(category="hand", status=status, assigned="Bob")
    change = workflow.unclaim(part, storage="Shelf B")
    assert change.fields["status"] == expected
    assert change.fields["assigned"] is None
    assert change.fields["misc_info"]["storage"] == "Shelf B"


def test_partial_then_full_completion() -> None:
    part = FakePart(category="cnc", status="In Progress", amount=4)
    first = workflow.complete(part, now=NOW, quantity=3)
    assert first.fields["quantity_done"] == 3
    assert first.fields["status"] == "In Progress"
    part.quantity_done = 3
    with pytest.raises(ValidationFailed):
        workflow.complete(part, now=NOW, quantity=2)
    done = workflow.complete(part, now=NOW, storage="Bin 4")
    assert done.fields["category"] == "completed"
    assert done.fields["misc_info"]["completed_at"] == NOW.isoformat()
    assert done.fields["misc_info"]["storage"] == "Bin 4"


def test_misc_done_really_completes() -> None:
    change = workflow.complete(FakePart(type="misc", category="misc", status="Reviewed"), now=NOW)
    assert change.fields["status"] == Status.COMPLETED.value
    assert change.fields["category"] == Category.COMPLETED.value


@pytest.mark.parametrize(
    ("kind", "category", "status"),
    [("cnc", "cnc", "In Progress"), ("misc", "misc", "Reviewed"), ("hand", "hand", "In Progress")],
)
def test_revert_goes_back_to_type_queue(kind: str, category: str, status: str) -> None:
    part = FakePart(
        type=kind,
        category="completed",
        status="Completed",
        quantity_done=1,
        misc_info={"completed_at": "x", "completedIncorrectly": True, "storage": "A"},
    )
    change = workflow.revert(part)
    assert (change.fields["category"], change.fields["status"]) == (category, status)
    assert change.fields["misc_info"] == {"storage": "A"}
    assert change.fields["quantity_done"] == 0


@pytest.mark.parametrize(
    ("status", "category", "start", "expected"),
    [
        ("Completed", None, ("misc", "Reviewed"), Action.COMPLETE),
        (None, "completed", ("cnc", "In Progress"), Action.COMPLETE),
        ("In Progress", None, ("cnc", "Reviewed"), Action.START),
        ("Reviewed", None, ("review", "Pending"), Action.APPROVE),
        (None, "cnc", ("completed", "Completed"), Action.REVERT),
        ("Already Started", None, ("hand", "In Progress"), Action.UNCLAIM),
    ],
)
def test_put_status_maps_to_action(
    status: str | None, category: str | None, start: tuple[str, str], expected: Action
) -> None:
    part = FakePart(category=start[0], status=start[1])
    assert workflow.status_change_action(part, status, category) is expected


def test_put_status_nonsense_conflicts() -> None:
    with pytest.raises(Conflict):
        workflow.status_change_action(FakePart(), "Pending", "misc")


def test_open_review_pins_block_only_the_last_piece() -> None:
    pins = [(1, "tap 10-32"), (4, "deburr")]
    part = FakePart(category="cnc", status="In Progress", assigned="Ada", amount=3)
    counted = workflow.complete(part, now=NOW, quantity=2, open_pins=pins)
    assert counted.fields["quantity_done"] == 2 and "category" not in counted.fields
    part.quantity_done = 2
    with pytest.raises(Conflict) as info:
        workflow.complete(part, now=NOW, open_pins=pins)
    assert info.value.message == (
        "Review pins still open: #1 tap 10-32; #4 deburr. Tick them before completing the part"
    )
    assert info.value.details == {
        "openPins": [{"number": 1, "note": "tap 10-32"}, {"number": 4, "note": "deburr"}]
    }
    # Misc (bought) parts follow the same rule: a pin is a check before the part counts as done.
    with pytest.raises(Conflict):
        workflow.complete(
            FakePart(type="misc", category="misc", status="Reviewed"), now=NOW, open_pins=pins
        )
    assert workflow.complete(part, now=NOW, open_pins=[]).fields["category"] == "completed"

"""The part workflow: transitions as data plus one pure function per action (no I/O).

Each action function takes a read-only view of a part and the action's inputs and returns a
``Change``: the field values to set and the timeline notes to record. Services apply it; the UI
and the API ask :func:`allowed_actions` to decide which buttons and routes are open.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from aerie_app.errors import Conflict, ValidationFailed
from aerie_app.models import Category, PartType, Status


class Action(enum.StrEnum):
    APPROVE = "approve"
    ASSIGN = "assign"
    START = "start"
    UNCLAIM = "unclaim"
    COMPLETE = "complete"
    REVERT = "revert"
    MARK_INCORRECT = "mark_incorrect"
    MARK_CORRECT = "mark_correct"
    # System transitions: taken by Aerie itself, never offered as a button or a route.
    REOPEN_REVIEW = "reopen_review"


SYSTEM_ACTIONS = frozenset({Action.REOPEN_REVIEW})


class PartView(Protocol):
    """What the workflow reads of a part (an ORM row, a query record or a test double)."""

    @property
    def type(self) -> str | None: ...
    @property
    def category(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def assigned(self) -> str | None: ...
    @property
    def amount(self) -> int: ...
    @property
    def quantity_done(self) -> int: ...
    @property
    def misc_info(self) -> dict[str, Any] | None: ...


QUEUES = frozenset({Category.CNC, Category.HAND, Category.MISC})
OPEN_STATUSES = frozenset({Status.REVIEWED, Status.PENDING, Status.ALREADY_STARTED})


@dataclass(frozen=True)
class Transition:
    """An action is allowed when the part's category and status are among these."""

    categories: frozenset[Category]
    statuses: frozenset[Status]


ALL_STATUSES = frozenset(Status)

TRANSITIONS: dict[Action, Transition] = {
    # Approving again updates the reviewer and custom fields (the old client relies on it).
    Action.APPROVE: Transition(
        frozenset({Category.REVIEW}) | QUEUES, frozenset({Status.PENDING, Status.REVIEWED})
    ),
    Action.ASSIGN: Transition(QUEUES, OPEN_STATUSES | {Status.IN_PROGRESS}),
    Action.START: Transition(QUEUES, OPEN_STATUSES),
    Action.UNCLAIM: Transition(QUEUES, OPEN_STATUSES | {Status.IN_PROGRESS}),
    Action.COMPLETE: Transition(QUEUES, OPEN_STATUSES | {Status.IN_PROGRESS}),
    Action.REVERT: Transition(frozenset({Category.COMPLETED}), ALL_STATUSES),
    Action.MARK_INCORRECT: Transition(frozenset({Category.COMPLETED}), ALL_STATUSES),
    Action.MARK_CORRECT: Transition(frozenset({Category.COMPLETED}), ALL_STATUSES),
    # A new revision whose geometry changed sends a part past Review back to be reviewed again.
    Action.REOPEN_REVIEW: Transition(QUEUES | {Category.COMPLETED}, ALL_STATUSES),
}

# Where a completed part goes back to when reverted, by type.
REVERT_TARGET: dict[PartType, tuple[Category, Status]] = {
    PartType.CNC: (Category.CNC, Status.IN_PROGRESS),
    PartType.HAND: (Category.HAND, Status.IN_PROGRESS),
    PartType.MISC: (Category.MISC, Status.REVIEWED),
}


@dataclass
class Change:
    """Fields to set on the part and notes for its timeline."""

    action: Action
    fields: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


def _category(part: PartView) -> Category:
    return Category(part.category)


def _status(part: PartView) -> Status:
    try:
        return Status(part.status)
    except ValueError:
        return Status.PENDING


def is_allowed(part: PartView, action: Action) -> bool:
    rule = TRANSITIONS[action]
    if _category(part) not in rule.categories or _status(part) not in rule.statuses:
        return False
    info = part.misc_info or {}
    if action is Action.MARK_INCORRECT:
        return not info.get("completedIncorrectly", False)
    if action is Action.MARK_CORRECT:
        return bool(info.get("completedIncorrectly", False))
    if action is Action.UNCLAIM:
        # Only something that is claimed or being worked on can be given back.
        return bool(part.assigned) or _status(part) is Status.IN_PROGRESS
    return True


@dataclass(frozen=True)
class _Shape:
    """The only facts the allowed-actions rules look at (hashable, so results can be cached)."""

    type: str | None
    category: str
    status: str
    assigned: str | None
    amount: int
    quantity_done: int
    misc_info: dict[str, Any] | None


@lru_cache(maxsize=512)
def _allowed(category: str, status: str, assigned: bool, incorrect: bool) -> tuple[Action, ...]:
    shape = _Shape(
        None,
        category,
        status,
        "x" if assigned else None,
        1,
        0,
        {"completedIncorrectly": incorrect},
    )
    return tuple(
        action for action in Action if action not in SYSTEM_ACTIONS and is_allowed(shape, action)
    )


def allowed_actions(part: PartView) -> list[Action]:
    """Which actions a person may take now (cached per state: lists call this per row).

    System actions are left out: only Aerie takes them (see :data:`SYSTEM_ACTIONS`)."""
    incorrect = bool((part.misc_info or {}).get("completedIncorrectly", False))
    return list(_allowed(part.category, part.status, bool(part.assigned), incorrect))


def _require(part: PartView, action: Action) -> None:
    if not is_allowed(part, action):
        allowed = [a.value for a in allowed_actions(part)]
        raise Conflict(
            f"Cannot {action.value.replace('_', ' ')} a part that is "
            f"{part.status} in {part.category}",
            {"action": action.value, "allowed": allowed, "status": part.status},
        )


def part_type(part: PartView) -> PartType:
    try:
        return PartType(part.type or "")
    except ValueError:
        raise ValidationFailed(
            "type", f"Part type must be one of cnc, hand, misc (got {part.type!r})"
        ) from None


def _info(part: PartView) -> dict[str, Any]:
    return dict(part.misc_info or {})


def approve(
    part: PartView,
    *,
    reviewer: str | None,
    fields: Mapping[str, Any] | None = None,
    no_fit_reason: str | None = None,
    confirm_no_fit: bool = False,
) -> Change:
    """Review → the type's queue, Reviewed; the reviewer and custom fields go into misc info.

    ``no_fit_reason`` is set when the part fits no machine: approving it out of Review then
    needs ``confirm_no_fit`` (else 409 with the reason), and the confirmation is noted.
    """
    _require(part, Action.APPROVE)
    kind = part_type(part)
    first = _category(part) is Category.REVIEW
    if first and no_fit_reason is not None and not confirm_no_fit:
        raise Conflict(
            f"This part fits no machine ({no_fit_reason}); approve it with confirmNoFit "
            "to go ahead anyway",
            {
                "action": Action.APPROVE.value,
                "fit": "none",
                "reason": no_fit_reason,
                "confirm": "confirmNoFit",
            },
        )
    info = _info(part)
    info.update(fields or {})
    if reviewer:
        info["reviewer"] = reviewer
    status = Status.REVIEWED if first else _status(part)
    notes = [f"Reviewed by {reviewer}"] if reviewer else []
    if first and no_fit_reason is not None:
        notes.append(f"Approved although it fits no machine: {no_fit_reason}")
    return Change(
        Action.APPROVE,
        {"category": Category(kind.value).value, "status": status.value, "misc_info": info},
        note="; ".join(notes) or None,
    )


def _with_worker(part: PartView, info: dict[str, Any], name: str, now: datetime) -> None:
    """Hand parts keep the list of everyone who worked on them (credited on the leaderboard)."""
    if part.type == PartType.HAND.value:
        workers = list(info.get("handWorkers") or [])
        if not workers or workers[-1].get("name") != name:
            workers.append({"name": name, "timestamp": now.isoformat()})
        info["handWorkers"] = workers


def assign(part: PartView, *, name: str, now: datetime) -> Change:
    """Claim: the part is someone's, In Progress. A part claimed by another person is a conflict."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("assigned", "A name is required to claim a part")
    _require(part, Action.ASSIGN)
    if part.assigned and _status(part) is Status.IN_PROGRESS and part.assigned != name:
        raise Conflict(
            f"Already claimed by {part.assigned}",
            {"action": "assign", "assigned": part.assigned, "allowed": ["unclaim"]},
        )
    info = _info(part)
    _with_worker(part, info, name, now)
    return Change(
        Action.ASSIGN,
        {
            "assigned": name,
            "claimed_date": now,
            "status": Status.IN_PROGRESS.value,
            "misc_info": info,
        },
    )


def start(part: PartView, *, name: str | None, now: datetime) -> Change:
    """Work begins (a CNC job is loaded, a misc order placed); crediting a maker is optional."""
    _require(part, Action.START)
    if name and name.strip():
        change = assign(part, name=name, now=now)
        change.action = Action.START
        return change
    return Change(Action.START, {"status": Status.IN_PROGRESS.value})


def unclaim(part: PartView, *, storage: str | None = None) -> Change:
    """Give a part back: Already Started when work had begun, else Pending; where it lies may be noted."""
    _require(part, Action.UNCLAIM)
    was_running = _status(part) is Status.IN_PROGRESS
    info = _info(part)
    if storage and storage.strip():
        info["storage"] = storage.strip()
    return Change(
        Action.UNCLAIM,
        {
            "assigned": None,
            "claimed_date": None,
            "status": (Status.ALREADY_STARTED if was_running else Status.PENDING).value,
            "misc_info": info,
        },
        note=f"Stored at {info['storage']}" if storage and storage.strip() else None,
    )


def complete(
    part: PartView,
    *,
    now: datetime,
    quantity: int | None = None,
    storage: str | None = None,
    extra_info: Mapping[str, Any] | None = None,
    open_pins: Sequence[tuple[int, str]] = (),
) -> Change:
    """Record finished pieces; when all ``amount`` are done the part is Completed (misc included).

    ``open_pins`` (number, note): the reviewer's pins nobody has ticked yet. Pieces may be
    counted while they are open, but the part is not Completed until every one is ticked.
    """
    _require(part, Action.COMPLETE)
    remaining = max(part.amount - part.quantity_done, 1)
    qty = remaining if quantity is None else quantity
    if qty < 1:
        raise ValidationFailed("quantity", "Quantity must be at least 1")
    if qty > remaining:
        raise ValidationFailed(
            "quantity", f"Only {remaining} of {part.amount} are left to complete"
        )
    info = _info(part)
    info.update(extra_info or {})
    if storage and storage.strip():
        info["storage"] = storage.strip()
    done = part.quantity_done + qty
    if done < part.amount:
        return Change(
            Action.COMPLETE,
            {
                "quantity_done": done,
                "status": Status.IN_PROGRESS.value,
                "misc_info": info,
            },
            note=f"{done} of {part.amount} done",
        )
    if open_pins:
        listed = "; ".join(f"#{number} {note}" for number, note in open_pins)
        raise Conflict(
            f"Review pins still open: {listed}. Tick them before completing the part",
            {"openPins": [{"number": number, "note": note} for number, note in open_pins]},
        )
    info["completed_at"] = now.isoformat()
    return Change(
        Action.COMPLETE,
        {
            "quantity_done": part.amount,
            "status": Status.COMPLETED.value,
            "category": Category.COMPLETED.value,
            "completed_at": now,
            "misc_info": info,
        },
        note=f"Stored at {info['storage']}" if info.get("storage") else None,
    )


def revert(part: PartView) -> Change:
    """Completed → back to its type's queue, clearing completion data."""
    _require(part, Action.REVERT)
    category, status = REVERT_TARGET[part_type(part)]
    info = _info(part)
    for key in ("completed_at", "completedIncorrectly"):
        info.pop(key, None)
    return Change(
        Action.REVERT,
        {
            "category": category.value,
            "status": status.value,
            "completed_at": None,
            "quantity_done": 0,
            "misc_info": info,
        },
    )


def reopen_review(part: PartView, *, reason: str) -> Change:
    """Back to Review / Pending because the part's geometry changed: unclaimed, nothing done yet
    (pieces made from the old geometry no longer count)."""
    _require(part, Action.REOPEN_REVIEW)
    info = _info(part)
    for key in ("completed_at", "completedIncorrectly"):
        info.pop(key, None)
    return Change(
        Action.REOPEN_REVIEW,
        {
            "category": Category.REVIEW.value,
            "status": Status.PENDING.value,
            "assigned": None,
            "claimed_date": None,
            "quantity_done": 0,
            "completed_at": None,
            "misc_info": info,
        },
        note=reason,
    )


def mark_incorrect(part: PartView, *, incorrect: bool = True) -> Change:
    action = Action.MARK_INCORRECT if incorrect else Action.MARK_CORRECT
    _require(part, action)
    info = _info(part)
    info["completedIncorrectly"] = incorrect
    return Change(action, {"misc_info": info})


def status_change_action(
    part: PartView, new_status: str | None, new_category: str | None
) -> Action:
    """Map the old client's PUT of ``status``/``category`` to the workflow action it means."""
    target = (new_status or "").strip()
    cat = (new_category or "").strip()
    if target == Status.COMPLETED.value or cat == Category.COMPLETED.value:
        return Action.COMPLETE
    if target == Status.IN_PROGRESS.value:
        return Action.START
    if target == Status.REVIEWED.value and _category(part) is Category.REVIEW:
        return Action.APPROVE
    if _category(part) is Category.COMPLETED and cat in {c.value for c in QUEUES}:
        return Action.REVERT
    if target == Status.ALREADY_STARTED.value and _status(part) is Status.IN_PROGRESS:
        return Action.UNCLAIM
    raise Conflict(
        f"Cannot move a part from {part.status} to {target or cat}",
        {"allowed": [a.value for a in allowed_actions(part)], "status": part.status},
    )

"""What an open board costs after a change: the first board on a view computes its rows once, every
other open board on that view refreshes from the live feed's marker without a statement."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from reflex.istate.data import RouterData

from aerie_app.db import get_engine, session_scope
from aerie_app.services import partquery, parts
from aerie_app.state.board import BoardState
from aerie_app.workflow import Action

pytestmark = pytest.mark.api


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _board() -> BoardState:
    """A board tab's state, with a token of its own (what keys what was shown to it)."""
    board = BoardState(_reflex_internal_init=True)  # type: ignore[call-arg]
    board.router = RouterData.from_router_data(
        {"token": str(uuid.uuid4()), "sid": "s", "headers": {}, "pathname": "/", "query": {}}
    )
    return board


def _token(board: BoardState) -> str:
    return str(board.router.session.client_token)


def _create(name: str, **data: str) -> int:
    with session_scope() as session:
        part = parts.create_part(
            session,
            data={"name": name, "material": "Al", "subsystem": "drive"} | data,
            actor="t",
        )
        assert part.id is not None
        return part.id


def _marker() -> tuple[int, int, str]:
    with session_scope() as session:
        return partquery.change_marker(session)


def test_open_boards_refresh_from_one_computation(aerie_env: Path) -> None:
    for i in range(3):
        _create(f"Plate {i}")
    boards = [_board() for _ in range(20)]
    for board in boards:
        board._refresh()  # opening the page: machines menu, marker, rows
    _create("Gusset")
    marker = _marker()
    with statements() as first:
        boards[0]._live_refresh(marker)
    assert first, "the first board after a change computes the rows"
    assert boards[0].rows[0]["name"] == "Gusset"
    with statements() as others:
        for board in boards[1:]:
            board._live_refresh(marker)
    assert others == [], "the other open boards ran statements"
    for board in boards[1:]:
        assert [r["name"] for r in board.rows] == [r["name"] for r in boards[0].rows]
        assert board.total == 4 and board.counts == boards[0].counts
    # Each board holds copies: one tab's edits never reach the shared computation.
    boards[1].rows[0]["name"] = "changed here"
    assert boards[2].rows[0]["name"] == "Gusset"


def test_a_board_on_another_view_computes_its_own_rows(aerie_env: Path) -> None:
    _create("Plate")
    _create("Spacer")
    review, searching = _board(), _board()
    searching.search = "spacer"
    marker = _marker()
    review._live_refresh(marker)
    with statements() as ran:
        searching._live_refresh(marker)
    assert ran, "another view is not served from the first view's rows"
    assert [r["name"] for r in searching.rows] == ["Spacer"]
    assert len(review.rows) == 2


def test_a_change_that_leaves_a_view_as_it_is_costs_that_tab_nothing(aerie_env: Path) -> None:
    """A part claimed on the CNC tab changes nothing a Review board shows: its tab is skipped
    (decided without its state). A new part in Review is not skipped, and a change that moves
    only the tab counts sets only the counts (the frame carries nothing else)."""
    _create("Plate")
    cnc = _create("Spacer", type="cnc")
    with session_scope() as session:
        parts.perform(session, cnc, Action.APPROVE, actor="t", reviewer="Grace")
    review = _board()
    review._refresh()
    assert [r["name"] for r in review.rows] == ["Plate"]

    with session_scope() as session:
        parts.perform(session, cnc, Action.ASSIGN, actor="Ada", name="Ada")
    assert BoardState._live_unchanged(_token(review), _marker())

    _create("Gusset")
    assert not BoardState._live_unchanged(_token(review), _marker())
    review._live_refresh(_marker())
    assert [r["name"] for r in review.rows] == ["Gusset", "Plate"]

    review.dirty_vars.clear()
    with session_scope() as session:
        parts.perform(session, cnc, Action.COMPLETE, actor="Ada")
    marker = _marker()
    assert not BoardState._live_unchanged(_token(review), marker)  # the counts moved
    review._live_refresh(marker)
    assert "counts" in review.dirty_vars
    assert not {"rows", "total", "options"} & review.dirty_vars
    assert review.counts["completed"] == 1

    BoardState._live_done(_token(review))
    assert not BoardState._live_unchanged(_token(review), marker)  # forgotten: refresh

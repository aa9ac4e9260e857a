"""The board's state: the visible page of one tab, its counts and filter choices, queried on the server."""

from __future__ import annotations

import datetime
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.models import Category, FitStatus, PartType
from aerie_app.schemas import part_public
from aerie_app.services import labels, listcache, partquery, stats
from aerie_app.services.partquery import PartQuery
from aerie_app.services.shop import machines as shop_machines
from aerie_app.settings import get_settings
from aerie_app.state.auth import AuthState
from aerie_app.state.live import LiveMixin
from aerie_app.units import model_dims_mm

PAGE_SIZE = 50
TYPE_LABEL = {"cnc": "CNC", "hand": "HAND FAB", "misc": "MISC"}
FILTERS = ("subsystem", "material", "assigned", "status")
ALL = "__all__"
# The board's sort menu: PartQuery's sort fields (the API's sortBy) and the order each starts in.
SORTS: dict[str, tuple[str, str]] = {
    "created_at": ("Newest first", "desc"),
    "fit": ("Fit (fits first)", "asc"),
    "thickness": ("Thickness", "asc"),
    "mass": ("Mass (heaviest first)", "desc"),
    "name": ("Name", "asc"),
}
# The sort menu's entry while a table column other than these sorts the board.
COLUMN_SORT = "__column__"


def _stock(geometry: dict[str, Any] | None) -> str:
    """The model's box as the part page and the viewer show it: X × Y × Z, same decimals."""
    if not geometry or not geometry.get("stockMm"):
        return ""
    return model_dims_mm([v for v in geometry["stockMm"] if v is not None])


def _days(claimed: str | None) -> str:
    if not claimed:
        return ""
    from datetime import UTC, datetime

    then = datetime.fromisoformat(claimed.replace("Z", "+00:00"))
    days = (datetime.now(UTC) - then).days
    return f"{days}d"


def _grams(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:.2f} kg" if value >= 1000 else f"{value:.0f} g"


def shop_row(part: dict[str, Any]) -> dict[str, Any]:
    """The shop's view of a part (fit, stock, mass, duplicate) as display strings."""
    fit = part.get("fit") or {}
    geometry = part.get("geometry") or {}
    duplicate = part.get("duplicateOf") or {}
    measured, estimated = part.get("measuredMassG"), geometry.get("massG")
    ref = duplicate.get("partId") or f"#{duplicate.get('id')}"
    return {
        "fit": fit.get("status") or FitStatus.NO_MODEL.value,
        "fitMachines": ", ".join(str(m.get("name", "")) for m in fit.get("machines") or []),
        "fitReason": fit.get("reason") or "",
        "stockMatch": (part.get("stock") or {}).get("label") or "",
        "stockReason": part.get("stockReason") or "",
        "thicknessLabel": part.get("thicknessLabel") or "",
        "estimatedMass": _grams(estimated),
        "measuredMass": _grams(measured),
        "mass": f"{_grams(measured)} weighed" if measured is not None else _grams(estimated),
        "duplicateId": duplicate.get("id") or 0,
        "duplicateText": f"{ref} ({duplicate.get('name') or ''})" if duplicate else "",
        # Approving it out of Review asks for confirmation (services.parts.perform's rule).
        "fitsNothing": fit.get("status") == FitStatus.NONE.value
        and part.get("type") != PartType.MISC.value,
    }


def to_row(part: dict[str, Any]) -> dict[str, Any]:
    """A part flattened to display strings; the table renders these as text only."""
    info = part.get("miscInfo") or {}
    geometry = part.get("geometry")
    return {
        "id": part["id"],
        "partId": part["partId"] or "",
        "type": TYPE_LABEL.get(part["type"] or "", "—"),
        "typeKey": part["type"] or "",
        "name": part["name"] or "(unnamed)",
        "subsystem": part["subsystem"] or "",
        "material": part["material"] or "",
        "thickness": part["materialThickness"] or part.get("thicknessLabel") or "",
        "amount": f"{part['quantityDone']}/{part['amount']}"
        if part["quantityDone"]
        else str(part["amount"]),
        "left": max(part["amount"] - part["quantityDone"], 1),
        "assigned": part["assigned"] or "",
        "days": _days(part["claimedDate"]),
        "status": part["status"],
        "notes": part["notes"] or "",
        "file": part["file"] or "",
        "storage": str(info.get("storage", "")),
        "stock": _stock(geometry),
        "thumb": f"/api/parts/{part['id']}/thumbnail?v={part['version']}" if geometry else "",
        "allowed": part["allowedActions"],
        "incorrect": bool(info.get("completedIncorrectly")),
    } | shop_row(part)


def view_params(
    tab: str, search: str, sort_by: str, sort_order: str, filters: dict[str, str]
) -> dict[str, str]:
    """A board view as the REST API's list query: what its CSV export and label sheet take."""
    params = {"category": tab, "sort_by": sort_by, "sort_order": sort_order}
    if search:
        params["search"] = search
    for name in (*FILTERS, "fits"):
        if filters.get(name):
            params[name] = filters[name]
    return params


def fits_query(value: str) -> int | str | None:
    """PartQuery.fits from the board's menu: a machine id, ``none`` or nothing."""
    if value == "none":
        return "none"
    return int(value) if value.isdigit() else None


ViewData = tuple[list[dict[str, Any]], int, dict[str, int], dict[str, list[str]]]


def _view_data(session: Any, marker: tuple[int, int, str], query: PartQuery, tab: str) -> ViewData:
    """A view's rows, total, tab counts and filter choices: computed once per change and view
    for every open board (keyed by the database's change marker; the day too, for the "days
    claimed" column), so fifty open tabs cost one list query after a change. Treat as read-only:
    the cache hands the same objects to every caller."""
    day = datetime.date.today().isoformat()

    def page() -> tuple[list[dict[str, Any]], int]:
        found, total = partquery.list_parts(session, query)
        return [to_row(part_public(p)) for p in found], total

    rows, total = listcache.values.get((marker, "rows", day, repr(query)), page)
    counts = listcache.values.get((marker, "counts"), lambda: stats.stats(session)["by_category"])
    options = listcache.values.get(
        (marker, "options", tab),
        lambda: {f: partquery.distinct_values(session, f, category=tab) for f in FILTERS},
    )
    return rows, total, counts, options


@dataclass(frozen=True)
class _Shown:
    query: PartQuery
    tab: str
    data: ViewData


class _ShownTabs:
    """What this process last put on each open board tab (by its token), bounded."""

    def __init__(self, size: int = 5000) -> None:
        self._size = size
        self._tabs: OrderedDict[str, _Shown] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> _Shown | None:
        with self._lock:
            return self._tabs.get(token)

    def put(self, token: str, shown: _Shown) -> None:
        with self._lock:
            self._tabs[token] = shown
            self._tabs.move_to_end(token)
            while len(self._tabs) > self._size:
                self._tabs.popitem(last=False)

    def forget(self, token: str) -> None:
        with self._lock:
            self._tabs.pop(token, None)


_shown = _ShownTabs()


class BoardState(LiveMixin, rx.State):
    """The visible page of one tab."""

    tab: str = Category.REVIEW.value
    search: str = ""
    sort_by: str = "created_at"
    sort_order: str = "desc"
    offset: int = 0
    total: int = 0
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    filters: dict[str, str] = {}
    options: dict[str, list[str]] = {}
    # Enabled machines for the "fits machine X" menu: [{"id": "3", "name": "Router"}].
    machines: list[dict[str, str]] = []
    # The server process holding this browser's connection (shown to operators and tests).
    worker: str = ""
    # Parts picked for a label sheet (ids, kept across pages and tabs until cleared).
    selected: list[int] = []
    labels_open: bool = False
    label_scope: str = "view"
    label_sheet: str = labels.DEFAULT_SHEET
    label_start: str = "0"
    # Where the labels' QR codes will point, and whether that is this computer only.
    label_base: str = ""
    label_local: bool = False

    @rx.var
    def page_label(self) -> str:
        if not self.total:
            return "No parts here yet" if not self.search else "No parts match"
        end = min(self.offset + PAGE_SIZE, self.total)
        return f"{self.offset + 1}–{end} of {self.total}"

    @rx.var
    def sort_choice(self) -> str:
        return self.sort_by if self.sort_by in SORTS else COLUMN_SORT

    @rx.var
    def export_url(self) -> str:
        """This view (tab, search, filters, sort) as a CSV download from the REST API."""
        params = view_params(self.tab, self.search, self.sort_by, self.sort_order, self.filters)
        return "/api/parts/export.csv?" + urlencode(params)

    @rx.var
    def export_xlsx_url(self) -> str:
        params = view_params(self.tab, self.search, self.sort_by, self.sort_order, self.filters)
        return "/api/parts/export.xlsx?" + urlencode(params)

    @rx.var
    def labels_url(self) -> str:
        """The label sheet the labels dialog asks for: the picked parts, or this whole view."""
        params = {"sheet": self.label_sheet}
        start = self.label_start.strip()
        if start.isdigit() and int(start) > 0:
            params["start"] = str(int(start))
        if self.label_scope == "selected" and self.selected:
            params["ids"] = ",".join(str(i) for i in self.selected)
        else:
            params |= view_params(
                self.tab, self.search, self.sort_by, self.sort_order, self.filters
            )
        return "/api/parts/labels.pdf?" + urlencode(params)

    @rx.var
    def label_count(self) -> int:
        if self.label_scope == "selected" and self.selected:
            return len(self.selected)
        return self.total

    @rx.var
    def page_all_selected(self) -> bool:
        return bool(self.rows) and all(r["id"] in self.selected for r in self.rows)

    @rx.event
    def toggle_selected(self, part_id: int, on: bool) -> None:
        pid = int(part_id)
        rest = [i for i in self.selected if i != pid]
        self.selected = [*rest, pid] if on else rest
        self.label_scope = "selected" if self.selected else "view"

    @rx.event
    def select_page(self, on: bool) -> None:
        ids = [int(r["id"]) for r in self.rows]
        rest = [i for i in self.selected if i not in ids]
        self.selected = [*rest, *ids] if on else rest
        self.label_scope = "selected" if self.selected else "view"

    @rx.event
    def clear_selected(self) -> None:
        self.selected, self.label_scope = [], "view"

    @rx.event
    def set_label_option(self, name: str, value: str) -> None:
        """The labels dialog's choices: which parts, which sheet, labels already used."""
        if name == "scope" and value in ("view", "selected"):
            self.label_scope = value
        elif name == "sheet" and value in labels.SHEETS:
            self.label_sheet = value
        elif name == "start":
            self.label_start = value[:4]

    @rx.event
    def open_labels(self) -> None:
        """Where the codes will point: phones cannot open an address that means "this computer"."""
        base = get_settings().public_url or self.router.page.host or ""
        self.label_base = base.rstrip("/")
        self.label_local = labels.this_computer_only(self.label_base)
        self.labels_open = True

    @rx.event
    def set_labels_open(self, value: bool) -> None:
        self.labels_open = value

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.total

    @rx.var
    def has_prev(self) -> bool:
        return self.offset > 0

    def _query(self) -> PartQuery:
        return PartQuery(
            category=self.tab,
            search=self.search or None,
            sort_by=self.sort_by,
            sort_order=self.sort_order,
            limit=PAGE_SIZE,
            offset=self.offset,
            fits=fits_query(self.filters.get("fits", "")),
            **{k: v for k, v in self.filters.items() if k in FILTERS and v},
        )

    def _refresh(self) -> None:
        with session_scope() as session:
            self.machines = [
                {"id": str(m.id), "name": m.name}
                for m in shop_machines.list_machines(session)
                if m.enabled
            ]
            self._show(session, partquery.change_marker(session))

    def _live_refresh(self, marker: tuple[int, int, str]) -> None:
        # Every open board wakes at once after a change: with the feed's marker and the rows
        # cached by the first board on this view, the others run no statement at all (the
        # session connects only if one is run). The machines menu is kept: it is not part data.
        with session_scope() as session:
            self._show(session, marker)

    @classmethod
    def _live_unchanged(cls, token: str, marker: tuple[int, int, str]) -> bool:
        """True when this tab's view shows the same rows, counts and choices after the change
        as it does now (a part claimed on another tab): its refresh is skipped, state round trip
        and frame included. Decided from what this process last showed the tab, without
        loading its state."""
        shown = _shown.get(token)
        if shown is None:
            return False
        with session_scope() as session:
            now = _view_data(session, marker, shown.query, shown.tab)
        return now == shown.data

    def _show(self, session: Any, marker: tuple[int, int, str]) -> None:
        query = self._query()
        data = _view_data(session, marker, query, self.tab)
        token = self.router.session.client_token
        last = _shown.get(token)
        # Only what changed is set, so the frame carries only that (a part completed elsewhere:
        # the tab counts, not fifty rows). What this process last showed the tab is the
        # reference: the state's own values would cost a comparison through Reflex's proxies.
        fresh = last is None or last.query != query or last.tab != self.tab
        rows, total, counts, options = data
        if fresh or rows != last.data[0]:
            self.rows = [dict(row) for row in rows]  # the tab's own copies: the cache stays
        if fresh or total != last.data[1]:
            self.total = total
        if fresh or counts != last.data[2]:
            self.counts = dict(counts)
        if fresh or options != last.data[3]:
            self.options = {name: list(values) for name, values in options.items()}
        _shown.put(token, _Shown(query, self.tab, data))

    @classmethod
    def _live_done(cls, token: str) -> None:
        _shown.forget(token)

    @rx.event
    async def load(self) -> None:
        auth = await self.get_state(AuthState)
        self.worker = str(os.getpid())
        if auth.signed_in:
            self._refresh()

    @rx.event
    async def reload(self) -> None:
        await self.load()

    @rx.event
    async def set_tab(self, tab: str) -> None:
        self.tab, self.offset, self.filters = tab, 0, {}
        await self.load()

    @rx.event
    async def set_search(self, value: str) -> None:
        self.search = value[:200]
        self.offset = 0
        await self.load()

    @rx.event
    async def set_filter(self, name: str, value: str) -> None:
        self.filters = {**self.filters, name: "" if value == ALL else value}
        self.offset = 0
        await self.load()

    @rx.event
    async def sort(self, column: str) -> None:
        if self.sort_by == column:
            self.sort_order = "asc" if self.sort_order == "desc" else "desc"
        else:
            self.sort_by, self.sort_order = column, "asc"
        await self.load()

    @rx.event
    async def set_sort(self, value: str) -> None:
        """The sort menu: one of SORTS, in the order it starts in (a column header flips it)."""
        if value in SORTS:
            self.sort_by, self.sort_order = value, SORTS[value][1]
            self.offset = 0
            await self.load()

    @rx.event
    async def next_page(self) -> None:
        self.offset += PAGE_SIZE
        await self.load()

    @rx.event
    async def prev_page(self) -> None:
        self.offset = max(0, self.offset - PAGE_SIZE)
        await self.load()

"""Statistics (recharts, shipped with Reflex: no CDN) and the leaderboard."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.components.layout import live_region, page_frame
from aerie_app.db import session_scope
from aerie_app.services import stats
from aerie_app.state.auth import AuthState
from aerie_app.state.live import LiveMixin

CATEGORY_LABELS = {
    "review": "Review",
    "cnc": "CNC/Laser",
    "hand": "Hand Fab",
    "misc": "Misc",
    "completed": "Completed",
}
TYPE_LABELS = {"cnc": "CNC", "hand": "Hand fab", "misc": "Misc"}


class StatsState(LiveMixin, rx.State):
    by_category: list[dict[str, Any]] = []
    by_type: list[dict[str, Any]] = []
    distribution: list[dict[str, Any]] = []
    contributors: list[dict[str, Any]] = []
    leaderboard: list[dict[str, Any]] = []
    totals: dict[str, str] = {}

    def _refresh(self) -> None:
        with session_scope() as session:
            summary = stats.detailed(session)
            board = stats.leaderboard(session, limit=50)
        self.by_category = [
            {"name": CATEGORY_LABELS[k], "parts": v} for k, v in summary["by_category"].items()
        ]
        self.by_type = [{"name": TYPE_LABELS[k], "parts": v} for k, v in summary["by_type"].items()]
        self.distribution = [
            {"name": k, "parts": v} for k, v in summary["completion_time_distribution"].items()
        ]
        self.contributors = summary["top_contributors"]
        avg = summary["average_completion_time"]
        self.totals = {
            "total": str(summary["total_parts"]),
            "completed": str(summary["completed_parts"]),
            "in_progress": str(summary["in_progress_parts"]),
            "average": "—" if avg is None else f"{avg:.1f} h",
        }
        self.leaderboard = [
            {"rank": i + 1, "name": row["name"], "score": f"{row['score']:g}"}
            for i, row in enumerate(board)
        ]

    @rx.event
    async def load(self) -> None:
        auth = await self.get_state(AuthState)
        if auth.signed_in:
            self._refresh()


def bar_chart(data: rx.Var, color: str, id_: str) -> rx.Component:
    return rx.recharts.bar_chart(
        rx.recharts.bar(data_key="parts", fill=rx.color(color, 9), radius=[4, 4, 0, 0]),
        rx.recharts.x_axis(data_key="name"),
        rx.recharts.y_axis(allow_decimals=False),
        rx.recharts.graphing_tooltip(),
        data=data,
        width="100%",
        height=220,
        id=id_,
    )


def stat(label: str, key: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"),
            rx.heading(StatsState.totals.get(key, "0"), size="6"),
            spacing="1",
        )
    )


def card(title: str, *children: rx.Component) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="3"), *children, width="100%"), width="100%")


def page() -> rx.Component:
    return page_frame(
        live_region(StatsState.live_note),
        rx.grid(
            stat("Parts (by amount)", "total"),
            stat("Completed", "completed"),
            stat("In progress", "in_progress"),
            stat("Average claim → done", "average"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="3",
            width="100%",
        ),
        rx.grid(
            card("By stage", bar_chart(StatsState.by_category, "blue", "chart-category")),
            card("By type", bar_chart(StatsState.by_type, "purple", "chart-type")),
            card(
                "Time from claim to completion",
                bar_chart(StatsState.distribution, "teal", "chart-time"),
            ),
            card(
                "Top contributors",
                rx.foreach(
                    StatsState.contributors,
                    lambda c: rx.hstack(
                        rx.text(c["name"].to(str)),
                        rx.spacer(),
                        rx.badge(c["count"].to(str)),
                        width="100%",
                    ),
                ),
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        card(
            "Leaderboard",
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("#"),
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Score"),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        StatsState.leaderboard,
                        lambda r: rx.table.row(
                            rx.table.cell(
                                rx.badge(
                                    r["rank"].to(str),
                                    color_scheme=rx.match(
                                        r["rank"].to(int),
                                        (1, "amber"),
                                        (2, "gray"),
                                        (3, "bronze"),
                                        "blue",
                                    ),
                                )
                            ),
                            rx.table.cell(r["name"].to(str), class_name="leader-name"),
                            rx.table.cell(r["score"].to(str)),
                            class_name="leader-row",
                        ),
                    )
                ),
                width="100%",
                id="leaderboard",
            ),
        ),
    )

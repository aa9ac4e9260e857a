"""Statistics (recharts, shipped with Reflex: no CDN), the weight budget and the leaderboard."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.components.layout import live_region, page_frame
from aerie_app.components.tables import cell, header, row_header, scrolling_table
from aerie_app.db import session_scope
from aerie_app.services import stats
from aerie_app.services.shop import weight
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
LB_PER_KG = 1 / 0.45359237


def _kg(grams: float) -> float:
    return round(grams / 1000, 2)


def _kg_text(grams: float) -> str:
    return f"{grams / 1000:.2f} kg ({grams / 1000 * LB_PER_KG:.1f} lb)"


def weight_view(budget: dict[str, Any]) -> dict[str, Any]:
    """The weight budget as the page shows it: chart bars in kg (the whole robot first, then
    each subsystem, measured stacked under estimated), table rows and the totals' texts."""
    bars = [
        {
            "name": "Whole robot",
            "Measured": _kg(budget["measuredG"]),
            "Estimated": _kg(budget["estimatedG"]),
        }
    ] + [
        {"name": s["subsystem"], "Measured": _kg(s["measuredG"]), "Estimated": _kg(s["estimatedG"])}
        for s in budget["subsystems"]
    ]
    rows = [
        {
            "name": s["subsystem"],
            "parts": str(s["parts"]),
            "measured": f"{s['measuredG'] / 1000:.2f}",
            "estimated": f"{s['estimatedG'] / 1000:.2f}",
            "total": f"{s['totalG'] / 1000:.2f}",
            "without": str(s["partsWithoutMass"]),
        }
        for s in budget["subsystems"]
    ]
    margin = budget["marginG"]
    totals = {
        "total": _kg_text(budget["totalG"]),
        "limit": _kg_text(budget["limitG"]),
        "margin": f"{_kg_text(abs(margin))} {'over' if margin < 0 else 'left'}",
        "without": str(budget["partsWithoutMass"]),
        "measured_share": (
            f"{budget['measuredG'] / budget['totalG'] * 100:.0f} % weighed"
            if budget["totalG"]
            else "nothing weighed yet"
        ),
    }
    return {"bars": bars, "rows": rows, "totals": totals, "limit": _kg(budget["limitG"])}


class StatsState(LiveMixin, rx.State):
    by_category: list[dict[str, Any]] = []
    by_type: list[dict[str, Any]] = []
    distribution: list[dict[str, Any]] = []
    contributors: list[dict[str, Any]] = []
    leaderboard: list[dict[str, Any]] = []
    totals: dict[str, str] = {}
    weight_bars: list[dict[str, Any]] = []
    weight_rows: list[dict[str, str]] = []
    weight_totals: dict[str, str] = {}
    weight_limit_kg: float = 0.0
    over_limit: bool = False

    def _refresh(self) -> None:
        with session_scope() as session:
            summary = stats.detailed(session)
            board = stats.leaderboard(session, limit=50)
            budget = weight.weight_budget(session)
        view = weight_view(budget)
        self.weight_bars, self.weight_rows = view["bars"], view["rows"]
        self.weight_totals, self.weight_limit_kg = view["totals"], view["limit"]
        self.over_limit = bool(budget["overLimit"])
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


def weight_stat(label: str, key: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"),
            rx.text(StatsState.weight_totals.get(key, ""), size="4", weight="bold"),
            spacing="1",
        ),
        class_name=f"weight-{key}",
    )


def weight_chart() -> rx.Component:
    """Stacked measured + estimated kg per subsystem (and the whole robot) against the limit."""
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        rx.recharts.bar(data_key="Measured", stack_id="mass", fill=rx.color("grass", 9)),
        rx.recharts.bar(
            data_key="Estimated", stack_id="mass", fill=rx.color("blue", 8), radius=[4, 4, 0, 0]
        ),
        rx.recharts.x_axis(data_key="name"),
        rx.recharts.y_axis(unit=" kg"),
        rx.recharts.reference_line(
            y=StatsState.weight_limit_kg.to(int),  # a float in the page; the prop is typed int
            stroke=rx.color("red", 10),
            stroke_dasharray="6 4",
            stroke_width=2,
            if_overflow="extendDomain",
            label="Limit",
        ),
        rx.recharts.legend(),
        rx.recharts.graphing_tooltip(),
        data=StatsState.weight_bars,
        width="100%",
        height=280,
        id="chart-weight",
    )


WEIGHT_COLUMNS = ("Subsystem", "Parts", "Measured kg", "Estimated kg", "Total kg", "Without mass")


def weight_table() -> rx.Component:
    """The chart's numbers as a table (what a screen reader reads, and what prints)."""
    return scrolling_table(
        header(*WEIGHT_COLUMNS),
        rx.el.tbody(
            rx.foreach(
                StatsState.weight_rows,
                lambda r: rx.el.tr(
                    row_header(r["name"]),
                    *[cell(r[k]) for k in ("parts", "measured", "estimated", "total", "without")],
                    class_name="weight-row",
                ),
            )
        ),
        label="Mass per subsystem",
        table_id="weight-table",
    )


def weight_card() -> rx.Component:
    return card(
        "Weight budget",
        rx.grid(
            weight_stat("Robot (measured where weighed)", "total"),
            weight_stat("Limit", "limit"),
            weight_stat("Margin", "margin"),
            weight_stat("Parts without a mass", "without"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            StatsState.over_limit,
            rx.callout(
                "The robot is over the weight limit.",
                icon="triangle-alert",
                color_scheme="red",
                id="over-limit",
            ),
        ),
        rx.text(
            StatsState.weight_totals.get("measured_share", ""),
            ". Estimates are model volume × material density; a measured mass wins.",
            size="1",
            color_scheme="gray",
        ),
        weight_chart(),
        weight_table(),
        rx.link("Cut list of the fab queue →", href="/cutlist", size="2"),
    )


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
        weight_card(),
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

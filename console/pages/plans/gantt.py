"""The plan's timeline: a row per worker with travel, waiting, service and break bars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import plotly.graph_objects as go

from console.i18n import _
from console.pages.plans.common import (
    SEGMENT_COLOURS,
    SEGMENT_WORDS,
    VIOLATION_COLOUR,
    local,
    plotly_text,
    violated_orders,
)
from services.plan_views import PlanView, PlanViolation


@dataclass(frozen=True, slots=True)
class GanttBar:
    """One bar of the timeline: whose row, what kind ("travel", "waiting", "service", "break"), when, its label,
    and whether the stop breaks a rule."""

    worker: str
    kind: str
    start: datetime
    end: datetime
    label: str
    violated: bool = False


def gantt_segments(view: PlanView, violations: Sequence[PlanViolation] = ()) -> list[GanttBar]:
    """Timeline bars per worker: travel (ending at each arrival), waiting, service and breaks."""
    broken = violated_orders(violations)
    bars: list[GanttBar] = []
    for route in view.plan.routes:
        worker = view.name(route.worker_id)
        for stop in route.stops:
            arrival, start, end = (local(view.at(s)) for s in (stop.arrival_s, stop.start_s, stop.end_s))
            label = _("order {id}").format(id=int(stop.visit_id))
            if stop.travel_s > 0:
                bars.append(GanttBar(worker, "travel", arrival - timedelta(seconds=stop.travel_s), arrival, label))
            if start > arrival:
                bars.append(GanttBar(worker, "waiting", arrival, start, label))
            kinds = broken.get(int(stop.visit_id), [])
            if kinds:
                label = f"{label} · " + _("breaks {rules}").format(rules=", ".join(kinds))
            bars.append(GanttBar(worker, "service", start, end, label, violated=bool(kinds)))
        for b in route.breaks:
            bars.append(GanttBar(worker, "break", local(view.at(b.start_s)), local(view.at(b.end_s)), _("break")))
    return bars


LEGEND_ENTRY_PX = 110


def gantt_figure(view: PlanView, violations: Sequence[PlanViolation] = ()) -> go.Figure:
    segments = gantt_segments(view, violations)
    fig = go.Figure()
    for kind, colour in SEGMENT_COLOURS.items():
        rows = [s for s in segments if s.kind == kind]
        if not rows:
            continue
        word = _(SEGMENT_WORDS[kind]) if kind in SEGMENT_WORDS else kind
        fig.add_trace(
            go.Bar(
                name=word,
                orientation="h",
                y=[plotly_text(s.worker) for s in rows],
                x=[(s.end - s.start).total_seconds() * 1000 for s in rows],
                base=[s.start.isoformat() for s in rows],
                marker={
                    "color": colour,
                    "line": {
                        "color": [VIOLATION_COLOUR if s.violated else colour for s in rows],
                        "width": [3 if s.violated else 0 for s in rows],
                    },
                },
                customdata=[[s.label, f"{s.start:%H:%M}", f"{s.end:%H:%M}"] for s in rows],
                hovertemplate="%{y} · "
                + word
                + " · %{customdata[0]}<br>%{customdata[1]}–%{customdata[2]}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="overlay",
        template="plotly_dark",
        paper_bgcolor="#111827",
        plot_bgcolor="#0b1120",
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        height=120 + 50 * max(1, len(view.plan.routes)),
        # Entries a fixed width apart: Plotly spaces them by the text it measured, and a Chinese label measured before
        # its font chunk arrived came out wider, over the next entry, the last one clipped. Just above the bars.
        legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom", "entrywidth": LEGEND_ENTRY_PX},
        # The day is the page's; a tick reads the time only (Plotly added the date in English under the first).
        xaxis={"type": "date", "title": None, "tickformat": "%H:%M"},
        yaxis={"autorange": "reversed", "title": None},
    )
    return fig


def empty_gantt(message: str | None = None) -> go.Figure:
    """The timeline with no plan to show: `message` (by default, to pick one) where the bars go, no axes (an empty
    plotly figure drew the axes of nothing, -1 to 6); also what replaces a plan's bars when no plan is picked any
    more."""
    message = message or _("Pick a plan to see each worker's day on a timeline.")
    fig = go.Figure()
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="#111827",
        plot_bgcolor="#111827",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=90,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "font": {"color": "#94a3b8", "size": 15},
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ],  # fmt: skip
    )
    return fig

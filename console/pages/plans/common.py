"""What the plans page's modules share: component ids, colours, the words for states, and local times."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from console import i18n
from console.i18n import N_, _
from services.plan_views import PlanViolation

PATH = "/plans/"
MONACO_CENTRE = (43.7384, 7.4246)
BASEMAP_URL = "/assets/basemap/monaco_roads.geojson"
FINISHED = ("done", "stopped", "failed", "interrupted")
EVENT_PROGRESS = "plan-progress"

# Component ids (kebab-case, prefixed).
DATE = "plan-date"
SECONDS = "plan-seconds"
MINIMISE = "plan-minimise"
BALANCE = "plan-balance"
START = "plan-start"
STOP = "plan-stop"
RUNNING = "plan-running"
PICK = "plan-pick"  # a callback's request to the picker: list a day's plans, pick one (see `wiring.pick_request`)
LISTED = "plan-listed"  # the day whose plans the picker lists
VERSION = "plan-version"
SOCKET = "plan-socket"
PROGRESS = "plan-progress"
MESSAGE = "plan-message"
PICKER = "plan-picker"
BADGE = "plan-badge"
PUBLISH = "plan-publish"
REPLAN = "plan-replan"
KPIS = "plan-kpis"
MAP = "plan-map"
ROUTES = "plan-routes"
GANTT = "plan-gantt"
UNPLANNED = "plan-unplanned"
COMPARE = "plan-compare"
VIOLATIONS = "plan-violations"
MOVE_ORDER = "plan-move-order"
MOVE_WORKER = "plan-move-worker"
MOVE = "plan-move"
ROADS_NOTE = "plan-roads-note"

WORKER_COLOURS = ("#38bdf8", "#f59e0b", "#a78bfa", "#4ade80", "#f43f5e", "#2dd4bf", "#facc15", "#fb923c", "#e879f9")
SEGMENT_COLOURS = {"travel": "#38bdf8", "service": "#4ade80", "waiting": "#64748b", "break": "#f59e0b"}
VIOLATION_COLOUR = "#ef4444"

STATE_WORDS = {
    "queued": N_("Queued"), "running": N_("Running"), "done": N_("Done"), "stopped": N_("Stopped"),
    "failed": N_("Failed"), "interrupted": N_("Interrupted"),
}  # fmt: skip
SEGMENT_WORDS = {"travel": N_("travel"), "waiting": N_("waiting"), "service": N_("service"), "break": N_("break")}

Places = Mapping[int, tuple[float, float, str]]
"""order_id -> (lat, lon, site name); supplied by the composition root."""
LocatePlaces = Callable[[Iterable[int]], Places]


def worker_colour(index: int) -> str:
    return WORKER_COLOURS[index % len(WORKER_COLOURS)]


def local(moment: datetime) -> datetime:
    """A plan's time on the office's clock (what the page shows; durations are the same either way)."""
    return moment.astimezone(i18n.office_zone())


def state_word(state: str) -> str:
    """A plan job's state as a person reads it ('Running')."""
    return _(STATE_WORDS[state]) if state in STATE_WORDS else state.capitalize()


def violated_orders(violations: Sequence[PlanViolation]) -> dict[int, list[str]]:
    """Order id -> the kinds of rule its stop breaks (window, skill, …)."""
    out: dict[int, list[str]] = {}
    for v in violations:
        if v.order_id is not None:
            out.setdefault(v.order_id, []).append(v.kind)
    return out


def plotly_text(text: str) -> str:
    """Plotly reads `<b>`, `<a href>`… in labels as markup; escaped, a name typed by a user shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""The assignment panel: ranked candidates with one-click Assign, the override reason, Cancel, and
who is near the order's site; and what a click on any of them means (pure parsing)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dash import dcc, html

from console.i18n import N_, _
from console.pages import ids, inputs
from console.pages.orders.common import distance_text, minutes_text, refused_notice, selected_order_id
from dispatch.assign import Candidate, Nearby, Origin
from dispatch.geo import LatLon
from dispatch.lifecycle import Refused
from dispatch.orders import WorkOrder
from services.order_input import FieldError

NEAR_DEFAULT_N = 5

NEAR_MAX_N = 50

ORIGINS = {Origin.FIX: N_("from last fix"), Origin.HOME_BASE: N_("from home base")}


def near_form() -> html.Details:
    """Who is near the selected order's site: skills (the order's by default) and how many, then a list."""
    return html.Details(
        className="near",
        children=[
            html.Summary(_("Who is near")),
            html.Div(
                className="near-form",
                children=[
                    html.Div(
                        className="near-skills",
                        children=dcc.Dropdown(id=ids.NEAR_SKILLS, options=[], multi=True, placeholder=_("Any skill")),
                    ),
                    html.Label(_("How many"), htmlFor=ids.NEAR_N, className="near-n-label"),
                    dcc.Input(
                        id=ids.NEAR_N,
                        type="number",
                        min=1,
                        max=NEAR_MAX_N,
                        step=1,
                        value=NEAR_DEFAULT_N,
                        className="near-n",
                        debounce=True,
                    ),
                    html.Button(_("Find"), id=ids.NEAR_SEARCH, n_clicks=0, className="near-search"),
                ],
            ),
            html.Div(id=ids.NEAR_LIST, className="near-list"),
        ],
    )


def actions_panel() -> html.Div:
    """Override reason, Cancel and who-is-near: shown only to roles that may assign (see `order_view`)."""
    return html.Div(
        id=ids.ORDER_ACTIONS,
        className="order-actions actions-hidden",
        children=[
            html.Label(_("Reason (needed to choose anyone but the top candidate)"), htmlFor=ids.OVERRIDE_REASON),
            dcc.Input(
                id=ids.OVERRIDE_REASON,
                type="text",
                className="reason",
                placeholder=_("e.g. customer asked for this worker"),
                debounce=True,
            ),
            dcc.ConfirmDialogProvider(
                html.Button(_("Cancel order"), className="cancel-order", n_clicks=0),
                id=ids.CANCEL_ORDER,
                message=_("Cancel this order? A cancelled order cannot be reopened."),
            ),
            near_form(),
        ],
    )


@dataclass(frozen=True, slots=True)
class Command:
    """One click on an order card: assign `worker_id`, or cancel the order when it is None."""

    order_id: int
    worker_id: int | None
    reason: str


def parse_command(trigger: Any, selected: Any, reason: str | None) -> Command:
    """What the click means: an Assign button names its worker, the Cancel button none."""
    order_id = selected_order_id(selected)
    if order_id is None:
        raise FieldError("order_id", "select an order first")
    if (
        isinstance(trigger, Mapping)
        and trigger.get("type") in (ids.ASSIGN, ids.NEAR_ASSIGN)
        and isinstance(trigger.get("index"), int)
    ):
        return Command(order_id, trigger["index"], (inputs.text(reason) or "").strip())
    if trigger == ids.CANCEL_ORDER:
        return Command(order_id, None, (inputs.text(reason) or "").strip())
    raise FieldError("action", f"unknown action {trigger!r}")


@dataclass(frozen=True, slots=True)
class NearQuery:
    """Who is near the selected order's site: the `n` nearest workers holding every one of `skills`."""

    order_id: int
    point: LatLon
    n: int
    skills: frozenset[str]


def parse_near(selected: Any, target: Any, skills: Any, n: Any) -> NearQuery:
    """The form's values as a query; the point is the selected order's site, as drawn on the map."""
    order_id = selected_order_id(selected)
    if order_id is None:
        raise FieldError("order_id", "select an order first")
    if not isinstance(target, Mapping) or target.get("order_id") != order_id:
        raise FieldError("order_id", f"order {order_id} is not on the map")
    try:
        point = LatLon(float(target["lat"]), float(target["lon"]))
    except (KeyError, TypeError, ValueError):
        raise FieldError("order_id", f"order {order_id} has no place on the map") from None
    if n is None or n == "":
        count = NEAR_DEFAULT_N
    elif isinstance(n, bool) or not isinstance(n, int | float) or n != int(n):
        raise FieldError("n", "how many workers: enter a whole number")
    else:
        count = int(n)
    if not 1 <= count <= NEAR_MAX_N:
        raise FieldError("n", f"how many workers: between 1 and {NEAR_MAX_N}")
    wanted = frozenset(str(s).strip().lower() for s in (skills or []) if str(s).strip())
    return NearQuery(order_id, point, count, wanted)


def action_result(command: Command, result: WorkOrder | Refused) -> dict[str, Any]:
    """The selection store after a click: the same order, with a notice of what happened."""
    if isinstance(result, Refused):
        notice = refused_notice(result.reason)
    elif command.worker_id is None:
        notice = {"kind": "cancelled"}
    else:
        notice = {"kind": "assigned", "worker_id": result.assigned_worker_id}
    return {"order_id": command.order_id, "notice": notice}


def candidate_row(candidate: Candidate, rank: int, *, name: str, best: bool, current: bool) -> dict[str, Any]:
    """One ranked worker as the card's list carries it: name, ETA, score, lateness (texts), and whose it is."""
    return {
        "rank": rank,
        "name": name,
        "eta": _("ETA {time}").format(time=minutes_text(candidate.eta_s)),
        "score": _("score {n}").format(n=f"{candidate.score_s / 60:.1f}"),
        "late": _("{time} late").format(time=minutes_text(candidate.late_s)) if candidate.late_s > 0 else "",
        "worker_id": candidate.worker_id,
        "best": best,
        "current": current,
    }


def candidate_list(rows: Sequence[Mapping[str, Any]], *, can_manage: bool) -> html.Ol:
    """The ranked candidates, each with its one-click Assign button, as ONE component: live.js draws each row from
    `data-rows` (li.candidate: rank, name, ETA · score · lateness, the Assign button or 'assigned'; every text set as
    text), as a row of ~7 Dash components per worker cost the page's React and dash-renderer most of a click
    (bench/README.md, "The dispatcher's console")."""
    labels = {
        "assign": _("Assign"),
        "assigned": _("assigned"),
        "score_title": _("ETA plus a penalty per order already booked today, in minutes (lower is better)"),
        "best_title": _("The proposed worker: one click"),
        "override_title": _("Override: give a reason below first"),
        "button_type": ids.ASSIGN if can_manage else "",  # read by live.js's listener: ASSIGN_CLICK
    }
    data = {
        "data-rows": json.dumps(list(rows), ensure_ascii=False),
        "data-labels": json.dumps(labels, ensure_ascii=False),
    }
    return html.Ol(className="candidates", **data)


def near_defaults(order: WorkOrder) -> dict[str, Any]:
    """What the who-is-near form starts from for this order: its required skills."""
    return {"order_id": order.id, "skills": sorted(order.required_skills)}


def near_view(found: Sequence[tuple[Nearby, str]], query: NearQuery, *, can_manage: bool) -> Any:
    """The nearest workers by travel time, each with an Assign button (the override rules still apply)."""
    if not found:
        if query.skills:
            text = _("Nobody with {skills} is available now.").format(skills=", ".join(sorted(query.skills)))
        else:
            text = _("Nobody is available now.")
        return html.P(text, className="warn")
    rows = []
    for rank, (near, name) in enumerate(found, start=1):
        parts: list[Any] = [
            html.Span(str(rank), className="cand-rank"),
            html.Span(name, className="cand-name near-name"),
            html.Span(
                [
                    html.Span(_("ETA {time}").format(time=minutes_text(near.eta_s)), className="cand-eta near-eta"),
                    html.Span(
                        f"{distance_text(near.distance_m)} · {_(ORIGINS[near.origin_kind])}",
                        className="cand-score",
                    ),
                ],
                className="cand-facts",
            ),
        ]
        if can_manage:
            parts.append(
                html.Button(
                    _("Assign"),
                    id={"type": ids.NEAR_ASSIGN, "index": near.worker_id},  # as the candidates' (ASSIGN_CLICK)
                    className="assign",
                    title=_("Assign this order to this worker (anyone but the top candidate needs a reason)"),
                )
            )
        rows.append(html.Li(parts, className="candidate near-row"))
    return html.Ol(rows, className="candidates near-results")

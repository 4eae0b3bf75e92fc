"""The order panel without a browser: its parsers, presenters, and callbacks wired to fakes."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dash import Dash, html, no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from console.auth import ApiError
from console.pages import ids, live, orders
from dispatch.access import Action, Actor, Role, can
from dispatch.assign import (
    AutoDispatched,
    Candidate,
    Excluded,
    Exclusion,
    ManualDispatch,
    Nearby,
    Origin,
    Ranking,
)
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.lifecycle import LifecycleEvent, Refused, StatusChange
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from dispatch.sites import Site
from services.dispatch_service import BatchResult, Created, Explained, NotFound
from services.field_service import FieldInputError, IssuedLink
from services.live_service import LiveSnapshot
from services.order_input import FieldError, NewOrder, parse_new_order
from tests.factories import at

DISPATCHER = Actor(id=2, name="dispatcher", role=Role.DISPATCHER)
MANAGER = Actor(id=3, name="boss", role=Role.MANAGER)
WINDOW = TimeWindow(at("2025-03-04T09:00:00Z"), at("2025-03-04T11:00:00Z"))
NAMES = {1: "Near Gas", 2: "Far Gas", 3: "Sparks"}
FORM = {
    "site_id": 1, "order_type": "repair", "priority": 2, "skills": ["gas"], "start_date": "2025-03-04",
    "start_time": "09:00", "end_date": "2025-03-04", "end_time": "11:00", "minutes": 45, "notes": " Boiler ",
}  # fmt: skip


def make_order(**kw: Any) -> WorkOrder:
    values: dict[str, Any] = {
        "id": 7, "site_id": 1, "type": OrderType.REPAIR, "priority": 3, "required_skills": frozenset({"gas"}),
        "window": WINDOW, "service_duration_s": 2700, "notes": "Boiler pressure low",
    }  # fmt: skip
    values.update(kw)
    return WorkOrder(**values)


def candidate(worker_id: int, eta_s: float, *, score_s: float | None = None, late_s: float = 0.0) -> Candidate:
    arrive = at("2025-03-04T09:00:00Z")
    return Candidate(
        worker_id=worker_id, eta_s=eta_s, score_s=eta_s if score_s is None else score_s, distance_m=eta_s * 8,
        origin=LatLon(43.739, 7.427), origin_kind=Origin.HOME_BASE, depart_at=arrive - timedelta(seconds=eta_s),
        arrive_at=arrive, end_at=arrive + timedelta(minutes=45), late_s=late_s,
    )  # fmt: skip


RANKING = Ranking(
    candidates=(candidate(1, 40, score_s=160), candidate(2, 240)),
    excluded=(Excluded(3, Exclusion.NO_SKILL, "no skill gas"),),
)


def explained(order: WorkOrder | None = None, ranking: Ranking = RANKING) -> Explained:
    return Explained(order or make_order(), ranking, NAMES)


def texts(component: Any) -> str:
    """Every string inside a component tree, joined (what a person would read; a list's `data-rows` as live.js
    draws them: each row's texts)."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(texts(c) for c in component)
    drawn = [row_texts(r) for r in rows_of(component, deep=False)]
    return " ".join([texts(getattr(component, "children", None)), *drawn]).strip()


def row_texts(row: Any) -> str:
    if isinstance(row, list):
        return " ".join(row)
    return " ".join(str(row[k]) for k in ("rank", "name", "eta", "score", "late") if row[k])


def rows_of(component: Any, *, deep: bool = True) -> list[Any]:
    """The rows live.js draws from the lists' `data-rows` in the tree (candidates: dicts; excluded: [name, reason])."""
    lists = find(component, lambda c: True) if deep else [component]
    return [
        r
        for c in lists
        if hasattr(c, "to_plotly_json")
        for r in json.loads(c.to_plotly_json()["props"].get("data-rows") or "[]")
    ]


def assign_buttons(component: Any) -> list[Any]:
    """The candidate rows drawn with an Assign button (live.js: the list's labels name the button's type)."""
    lists = find(component, lambda c: hasattr(c, "to_plotly_json") and "data-labels" in c.to_plotly_json()["props"])
    with_buttons = [
        c for c in lists if json.loads(c.to_plotly_json()["props"]["data-labels"])["button_type"] == ids.ASSIGN
    ]
    return [r for r in rows_of(with_buttons) if not r["current"]]


def find(component: Any, predicate: Any) -> list[Any]:
    """Components in the tree that satisfy `predicate`."""
    found = []
    if isinstance(component, list | tuple):
        for c in component:
            found += find(c, predicate)
    elif component is not None and not isinstance(component, str | int | float):
        if predicate(component):
            found.append(component)
        found += find(getattr(component, "children", None), predicate)
    return found


# ---------------------------------------------------------------------------------------------- parsing


def test_form_becomes_the_api_body_and_parses_into_a_new_order():
    """Tests that the form's date and HH:MM times become UTC ISO times and the one API parser accepts the body."""
    new = parse_new_order(orders.form_body(**FORM))
    assert new.window == WINDOW
    assert (new.site_id, new.type, new.priority, new.service_duration_s) == (1, OrderType.REPAIR, 2, 2700)
    assert new.required_skills == frozenset({"gas"}) and new.notes == "Boiler"


def test_end_date_defaults_to_start_date_and_short_times_are_accepted():
    """Tests that an empty end date means the start date and '9' or '1130' read as 09:00 and 11:30."""
    body = orders.form_body(**{**FORM, "end_date": None, "start_time": "9", "end_time": "1130"})
    assert (body["window_start"], body["window_end"]) == ("2025-03-04T09:00:00Z", "2025-03-04T11:30:00Z")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [({"start_time": "25:00"}, "window_start", "not a time of day"), ({"start_date": None}, "window_start", "pick a date"),
     ({"end_time": ""}, "window_end", "enter a time"), ({"minutes": None}, "service_duration_s", "duration")],
)  # fmt: skip
def test_bad_form_values_name_the_field(change, field, words):
    """Tests that a bad time, a missing date or a missing duration is a FieldError naming the field."""
    with pytest.raises(FieldError) as err:
        orders.form_body(**{**FORM, **change})
    assert err.value.field == field and words in err.value.reason


def test_field_errors_read_in_the_forms_words():
    """Tests that a FieldError is shown with the form's label and no API field names."""
    with pytest.raises(FieldError) as err:
        parse_new_order(orders.form_body(**{**FORM, "end_time": "08:00"}))
    message, *rest = orders.form_error(err.value)
    assert texts(message) == "Window end: must be after window start"
    assert message.className == "error" and rest == [no_update] * 4


def test_assign_and_cancel_clicks_become_commands():
    """Tests that an Assign button names its worker, Cancel names none, and the reason is trimmed (a forged reason
    that is not text reads as none)."""
    selected = {"order_id": 7}
    assert orders.parse_command({"type": ids.ASSIGN, "index": 2}, selected, " asked ") == orders.Command(7, 2, "asked")
    assert orders.parse_command(ids.CANCEL_ORDER, selected, None) == orders.Command(7, None, "")
    assert orders.parse_command(ids.CANCEL_ORDER, selected, ["forged"]) == orders.Command(7, None, "")  # was a 500
    with pytest.raises(FieldError, match="select an order"):
        orders.parse_command(ids.CANCEL_ORDER, None, "")
    assert orders.selected_order_id({"order_id": True}) is None


# ------------------------------------------------------------------------------------------- presenters


def test_card_ranks_candidates_with_eta_score_and_one_click_assign():
    """Tests that the card lists candidates best first with ETA and score, and every one has an Assign button (the top one primary)."""
    card, excluded, message, actions = orders.order_view(explained(), can_manage=True, notice=None)
    rows = rows_of(card)
    assert [r["name"] for r in rows] == ["Near Gas", "Far Gas"]
    assert "ETA <1 min" in row_texts(rows[0]) and "score 2.7" in row_texts(rows[0])
    assert "ETA 4 min" in row_texts(rows[1])
    buttons = assign_buttons(card)  # the top one primary (live.js: class "assign primary" for the best row)
    assert [(b["worker_id"], b["best"]) for b in buttons] == [(1, True), (2, False)]
    assert "Tue 04 Mar 09:00–11:00 UTC" in texts(card) and "Boiler pressure low" in texts(card)
    assert (message, actions) == (None, "order-actions")
    assert "Sparks" in texts(excluded) and "no skill gas" in texts(excluded)
    assert excluded.open is False  # folded away while someone can take the order


def test_nobody_qualifies_opens_the_excluded_list():
    """Tests that when nobody can take the order the card says so and the reasons are shown unfolded."""
    ranking = Ranking((), (Excluded(1, Exclusion.OFF_SHIFT, "off shift at 09:00"),))
    card, excluded, _, _ = orders.order_view(explained(ranking=ranking), can_manage=True, notice=None)
    assert "Nobody can take this order now" in texts(card)
    assert excluded.open is True and "off shift at 09:00" in texts(excluded)


def test_assigned_order_marks_the_assignee_and_offers_reassignment():
    """Tests that an assigned order shows who has it, without an Assign button for them."""
    order = make_order(status=OrderStatus.ASSIGNED, assigned_worker_id=1)
    card, *_ = orders.order_view(explained(order), can_manage=True, notice={"kind": "assigned", "worker_id": 1})
    assert "Reassign to" in texts(card) and "Near Gas" in texts(card)
    assert [b["worker_id"] for b in assign_buttons(card)] == [2]
    assert [(r["worker_id"], r["best"], r["current"]) for r in rows_of(card)] == [(1, True, True), (2, False, False)]


def test_viewer_and_final_orders_get_no_actions():
    """Tests that a role that may only view sees no buttons, and a cancelled order shows no candidates."""
    card, _, _, actions = orders.order_view(explained(), can_manage=False, notice=None)
    assert assign_buttons(card) == [] and actions.endswith("actions-hidden")
    assert "may view orders but not assign" in texts(card)
    cancelled = make_order(status=OrderStatus.CANCELLED)
    card, _, _, actions = orders.order_view(explained(cancelled), can_manage=True, notice={"kind": "cancelled"})
    assert "cancelled; it can no longer change" in texts(card) and assign_buttons(card) == []
    assert actions.endswith("actions-hidden")


def test_late_candidate_says_how_late():
    """Tests that a candidate arriving after the window closes is marked late."""
    ranking = Ranking((candidate(1, 7500, late_s=1800),), ())
    card, *_ = orders.order_view(explained(ranking=ranking), can_manage=True, notice=None)
    assert "ETA 2 h 05 min" in texts(card) and "30 min late" in texts(card)


@pytest.mark.parametrize(
    ("notice", "words", "css"),
    [({"kind": "created", "mode": "auto", "worker_id": 2, "eta_s": 230}, "assigned to Far Gas automatically (ETA 4 min)", "ok"),
     ({"kind": "created", "mode": "manual", "text": "repair orders are dispatched by hand"}, "Repair orders are dispatched by hand", "ok"),
     ({"kind": "created", "mode": "none", "text": "no worker has skill x"}, "nobody can take it now: no worker has skill x", "warn"),
     ({"kind": "assigned", "worker_id": 1}, "Assigned to Near Gas.", "ok"),
     ({"kind": "refused", "text": "An override of the proposed worker needs a reason"}, "needs a reason", "error")],
)  # fmt: skip
def test_notices_say_what_happened(notice, words, css):
    """Tests the one-line notices: automatic assignment with the worker's name and ETA, manual, none, assigned, refused."""
    view = orders.notice_view(notice, NAMES)
    assert words in texts(view) and view.className == css
    assert orders.notice_view(None, NAMES) is None


def test_refusals_read_as_sentences():
    """Tests that the API's 'field: ' prefix is dropped and the sentence capitalised."""
    command = orders.Command(7, 2, "")
    result = orders.action_result(command, Refused("reason: an override of the proposed worker needs a reason"))
    assert result == {
        "order_id": 7,
        "notice": {"kind": "refused", "text": "An override of the proposed worker needs a reason"},
    }
    assigned = orders.action_result(command, make_order(status=OrderStatus.ASSIGNED, assigned_worker_id=2))
    assert assigned["notice"] == {"kind": "assigned", "worker_id": 2}
    assert orders.action_result(orders.Command(7, None, ""), make_order())["notice"] == {"kind": "cancelled"}


def test_created_order_opens_on_the_orders_tab():
    """Tests that after creating, the new order is selected with its notice, the Orders tab opens, and site and notes clear."""
    order = make_order(status=OrderStatus.ASSIGNED, assigned_worker_id=2)
    change = StatusChange(7, OrderStatus.NEW, OrderStatus.ASSIGNED, LifecycleEvent.ASSIGNED, WINDOW.start, None, None, "", 2, None)  # fmt: skip
    message, selected, tab, site, notes = orders.form_created(
        Created(order, AutoDispatched(order, change, candidate(2, 230)))
    )
    assert "Order #7 created" in texts(message)
    assert selected == {"order_id": 7, "notice": {"kind": "created", "mode": "auto", "worker_id": 2, "eta_s": 230}}
    assert (tab, site, notes) == (orders.TAB_ORDERS, None, "")
    _, manual, *_ = orders.form_created(Created(make_order(), ManualDispatch("repair orders are dispatched by hand")))
    assert manual["notice"]["mode"] == "manual"


def test_sites_for_the_picker_are_sorted_by_name_and_drawn_at_their_place():
    """Tests that the picker lists sites by name with their address, and the map layer has lon/lat points."""
    sites = [
        Site(id=1, name="Port Hercule", address="Quai Albert 1er", location=LatLon(43.7347, 7.4214)),
        Site(id=2, name="casino", address="", location=LatLon(43.7394, 7.4276)),
    ]
    assert orders.site_options(sites) == [
        {"label": "casino", "value": 2},
        {"label": "Port Hercule — Quai Albert 1er", "value": 1},
    ]
    (first, _) = orders.sites_to_geojson(sites)["features"]
    assert first["geometry"]["coordinates"] == [7.4214, 43.7347]
    assert first["properties"] == {"site_id": 1, "name": "Port Hercule"}


def test_durations_and_windows_read_well():
    """Tests the small formatters: minutes, hours, and a window that spans midnight."""
    assert [orders.minutes_text(s) for s in (10, 60, 3570, 7200)] == ["<1 min", "1 min", "60 min", "2 h 00 min"]
    night = TimeWindow(at("2025-03-04T22:00:00Z"), at("2025-03-05T02:00:00Z"))
    assert orders.window_text(night) == "Tue 04 Mar 22:00 – Wed 05 Mar 02:00 UTC"


# ----------------------------------------------------------------------------- callbacks, with fakes


class FakeAuth:
    def __init__(self, actor: Actor | None) -> None:
        self.actor = actor
        self.asked: list[Action] = []

    def require(self, action: Action, *, worker_id: int | None = None) -> Actor:
        self.asked.append(action)
        if self.actor is None:
            raise ApiError(401, "not authenticated")
        if self.actor.role is Role.MANAGER and action is Action.MANAGE_ORDERS:
            raise ApiError(403, "role manager may not manage-orders")
        return self.actor

    def require_worker(self, action: Action, worker_id: int) -> Actor:
        return self.require(action, worker_id=worker_id)

    def check_worker_in_scope(self, actor: Actor, worker_id: int) -> None:
        """Every worker is in scope here: team scopes are tested in tests/console/test_privacy.py."""


class FakeDispatch:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.order = make_order()

    def candidates(self, *, actor: Actor, order_id: int) -> Explained:
        self.calls.append(("candidates", {"order_id": order_id}))
        if order_id != 7:
            raise NotFound(f"no order with id {order_id}")
        return explained(self.order)

    def assign(self, *, actor: Actor, order_id: int, worker_id: int, reason: str = "") -> WorkOrder | Refused:
        self.calls.append(("assign", {"order_id": order_id, "worker_id": worker_id, "reason": reason}))
        if worker_id != 1 and not reason:
            return Refused("reason: an override of the proposed worker needs a reason")
        return replace(self.order, status=OrderStatus.ASSIGNED, assigned_worker_id=worker_id)

    def move(self, *, actor: Actor, order_id: int, to: OrderStatus, reason: str = "") -> WorkOrder | Refused:
        self.calls.append(("move", {"order_id": order_id, "to": to, "reason": reason}))
        return replace(self.order, status=to)

    def create_order(self, *, actor: Actor, new: NewOrder) -> Created:
        self.calls.append(("create", {"new": new}))
        return Created(replace(self.order, id=8), ManualDispatch("repair orders are dispatched by hand"))

    def batch_assign(self, *, actor: Actor, order_ids: list[int] | None = None) -> BatchResult:
        self.calls.append(("batch", {"order_ids": order_ids}))
        return BatchResult(assigned=[(7, 1, 240.0), (8, 2, 180.0)], unassigned=[], total_cost_s=420.0)

    def who_is_near(self, *, actor: Actor, point: LatLon, n: int, skills: frozenset[str]) -> list[tuple[Nearby, str]]:
        self.calls.append(("near", {"point": point, "n": n, "skills": skills}))
        found = [
            (Nearby(1, 40.0, 300.0, Origin.HOME_BASE), "Near Gas"),
            (Nearby(2, 240.0, 1500.0, Origin.FIX), "Far Gas"),
        ]
        return found[:n]


RECORD = {
    "order_id": 7,
    "checkins": [
        {"kind": "in", "verdict": "outside_geofence", "distance_m": 140.4},
        {"kind": "out", "verdict": "verified", "distance_m": 12.0},
    ],
    "photos": [{"photo_id": 31, "order_id": 7, "thumbnail_url": "/api/v1/photos/31/thumbnail"}],
    "report": {
        "text": "Valve replaced", "checklist": {"Fault found": True, "Area left clean": False},
        "parts": [{"name": "valve", "quantity": 2}], "signed_by": "M. Rossi", "has_signature": True,
        "written_at": "2025-03-04T10:40:00+00:00",
    },
}  # fmt: skip
TODAY = date(2025, 3, 4)


class FakeField:
    def __init__(self, *, hook: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.hook = hook

    def today(self) -> date:
        return TODAY

    def field_record(self, *, actor: Actor, order_id: int) -> dict[str, Any]:
        self.calls.append(("record", {"order_id": order_id}))
        if order_id != 7:
            raise FieldInputError("order_id", f"no order with id {order_id}")
        return RECORD

    def issue_link(self, *, actor: Actor, worker_id: int, day: date, send: bool = False) -> IssuedLink:
        self.calls.append(("issue", {"worker_id": worker_id, "day": day, "send": send}))
        if send and not self.hook:
            raise FieldInputError("send", "no notification hook is configured (set OUTFIELD_LINK_WEBHOOK)")
        return IssuedLink(worker_id, "Sparks", "tok", "http://wall:8050/field/tok", at("2025-03-05T01:00:00Z"))

    def revoke_links(self, *, actor: Actor, worker_id: int) -> int:
        self.calls.append(("revoke", {"worker_id": worker_id}))
        return 3


def wire(
    actor: Actor | None = DISPATCHER, field: FakeField | None = None
) -> tuple[orders.Callbacks, FakeDispatch, FakeAuth]:
    dispatch, auth = FakeDispatch(), FakeAuth(actor)
    sites = [Site(id=1, name="Casino", address="", location=LatLon(43.7394, 7.4276))]
    callbacks = orders.register(
        Dash(__name__),
        dispatch=dispatch,
        auth=auth,
        list_sites=lambda: sites,
        field=field or FakeField(),  # type: ignore[arg-type]
        clock=ManualClock(at("2025-03-04T07:20:00Z")),
    )
    return callbacks, dispatch, auth


def clicked(prop_id: str, value: Any = 1) -> None:
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))


def assign_click(button: str, worker_id: int, *, click: int = 1) -> dict[str, Any]:
    """What live.js writes into the ASSIGN_CLICK store when an Assign button is clicked; the callback sees it trigger."""
    data = {"type": button, "index": worker_id, "click": click}
    clicked(f"{ids.ASSIGN_CLICK}.data", data)
    return data


def test_show_order_authorises_then_explains():
    """Tests that opening an order asks for view-orders, then the candidates, and shows the ranked card."""
    callbacks, dispatch, auth = wire()
    card, excluded, message, actions, defaults = callbacks.show_order({"order_id": 7}, None)
    assert auth.asked == [Action.VIEW_ORDERS] and dispatch.calls == [("candidates", {"order_id": 7})]
    assert len(assign_buttons(card)) == 2 and actions == "order-actions"
    assert defaults == {"order_id": 7, "skills": ["gas"]}  # who-is-near starts from the order's skills


def test_show_order_explains_refusals_and_unknown_orders():
    """Tests that a signed-out caller sees the reason and an unknown order says it does not exist."""
    callbacks, dispatch, _ = wire(actor=None)
    card, *_ = callbacks.show_order({"order_id": 7}, None)
    assert texts(card) == "Not authenticated" and dispatch.calls == []
    callbacks, _, _ = wire()
    card, *_ = callbacks.show_order({"order_id": 99}, None)
    assert texts(card) == "No order with id 99" and card.className == "error"
    card, *_ = callbacks.show_order(None, None)
    assert texts(card) == orders.NO_ORDER_HINT


def test_override_without_reason_is_refused_and_top_choice_is_one_click():
    """Tests that an override without a reason comes back refused and the top candidate is assigned with no reason."""
    callbacks, dispatch, auth = wire()
    refused = callbacks.act_on_order(assign_click(ids.ASSIGN, 2), None, "", {"order_id": 7})
    assert refused["notice"] == {"kind": "refused", "text": "An override of the proposed worker needs a reason"}
    done = callbacks.act_on_order(assign_click(ids.ASSIGN, 1), None, None, {"order_id": 7})
    assert done == {"order_id": 7, "notice": {"kind": "assigned", "worker_id": 1}}
    assert [c[1]["worker_id"] for c in dispatch.calls] == [2, 1]
    assert auth.asked == [Action.MANAGE_ORDERS] * 2


def test_redrawn_buttons_do_nothing_and_cancel_moves_the_order():
    """Tests that no click (the store empty) changes nothing, and Cancel cancels with the typed note."""
    callbacks, dispatch, _ = wire()
    clicked(f"{ids.ASSIGN_CLICK}.data", None)
    with pytest.raises(PreventUpdate):
        callbacks.act_on_order(None, None, "", {"order_id": 7})
    clicked(f"{ids.CANCEL_ORDER}.submit_n_clicks")
    result = callbacks.act_on_order(None, 1, " duplicate ", {"order_id": 7})
    assert result["notice"] == {"kind": "cancelled"}
    assert dispatch.calls == [("move", {"order_id": 7, "to": OrderStatus.CANCELLED, "reason": "duplicate"})]


def test_manager_may_not_assign():
    """Tests that a manager's click is refused with the policy's reason and nothing is called."""
    callbacks, dispatch, _ = wire(actor=MANAGER)
    result = callbacks.act_on_order(assign_click(ids.ASSIGN, 1), None, "", {"order_id": 7})
    assert result["notice"]["text"] == "Role manager may not manage-orders" and dispatch.calls == []


def test_create_order_parses_the_form_and_opens_the_new_order():
    """Tests that submitting the form creates the order through parse_new_order and selects it."""
    callbacks, dispatch, _ = wire()
    args = [FORM[k] for k in ("site_id", "order_type", "priority", "skills", "start_date", "start_time",
                              "end_date", "end_time", "minutes", "notes")]  # fmt: skip
    message, selected, tab, _, _ = callbacks.create_order(1, *args)
    ((name, call),) = dispatch.calls
    assert name == "create" and call["new"].window == WINDOW
    assert selected["order_id"] == 8 and tab == orders.TAB_ORDERS
    message, selected, *_ = callbacks.create_order(1, None, *args[1:])
    assert texts(message) == "Customer site: missing" and selected is no_update
    with pytest.raises(PreventUpdate):
        callbacks.create_order(0, *args)


def shown(form: Any, component_id: str, prop: str) -> Any:
    """What the form's component `component_id` shows in `prop` from its first drawing."""
    (component,) = find(form, lambda c: getattr(c, "id", None) == component_id)
    return getattr(component, prop)


def test_the_form_is_built_once_on_first_opening_with_its_sites_and_default_window():
    """Tests that first opening the New order tab builds the form with the sites in its picker (and on the map)
    and the window from the next full hour for two hours already in its fields, that it is not built again
    (what was typed stays), and that a manager gets the form with no sites and is told why."""
    callbacks, _, _ = wire()  # at 07:20 UTC; the office's clock is UTC outside an app
    form, layer = callbacks.open_form(orders.TAB_NEW_ORDER, None)
    assert shown(form, ids.SITE_PICKER, "options") == [{"label": "Casino", "value": 1}]
    assert len(layer["features"]) == 1 and texts(shown(form, ids.FORM_MESSAGE, "children")) == ""
    window = [shown(form, i, p) for i, p in ((ids.START_DATE, "date"), (ids.START_TIME, "value"),
                                             (ids.END_DATE, "date"), (ids.END_TIME, "value"))]  # fmt: skip
    assert window == ["2025-03-04", "08:00", "2025-03-04", "10:00"]
    with pytest.raises(PreventUpdate):
        callbacks.open_form(orders.TAB_NEW_ORDER, ids.SUBMIT_ORDER)
    with pytest.raises(PreventUpdate):
        callbacks.open_form(orders.TAB_WORKERS, None)
    callbacks, _, _ = wire(actor=MANAGER)
    form, layer = callbacks.open_form(orders.TAB_NEW_ORDER, None)
    assert shown(form, ids.SITE_PICKER, "options") == [] and layer == orders.EMPTY_LAYER
    assert "manager may not" in texts(shown(form, ids.FORM_MESSAGE, "children"))
    assert shown(form, ids.START_TIME, "value") == "08:00"


@pytest.mark.parametrize(
    ("now", "zone", "window"),
    [
        ("2025-03-04T07:20:00Z", "UTC", ("2025-03-04", "08:00", "2025-03-04", "10:00")),
        ("2025-03-04T08:00:00Z", "UTC", ("2025-03-04", "08:00", "2025-03-04", "10:00")),  # on the hour: now
        ("2025-03-04T08:00:00.001Z", "UTC", ("2025-03-04", "09:00", "2025-03-04", "11:00")),
        ("2025-03-04T15:30:00Z", "Asia/Shanghai", ("2025-03-05", "00:00", "2025-03-05", "02:00")),  # 23:30 CST
        ("2025-03-04T22:10:00Z", "UTC", ("2025-03-04", "23:00", "2025-03-05", "01:00")),  # ends tomorrow
        ("2025-03-30T00:30:00Z", "Europe/Paris", ("2025-03-30", "03:00", "2025-03-30", "05:00")),  # 02:00 skipped
        ("2025-03-04T07:20:00Z", "Asia/Kolkata", ("2025-03-04", "13:30", "2025-03-04", "15:30")),  # a full UTC hour
    ],
)
def test_the_default_window_starts_at_the_next_full_hour_on_the_offices_clock(now, zone, window):
    """Tests the window the form opens with: two hours from the next full hour, as the office's clock reads."""
    d = orders.window_defaults(at(now), ZoneInfo(zone))
    assert (d.start_date, d.start_time, d.end_date, d.end_time) == window


# ------------------------------------------------------------------ assign all, who is near, field record


def test_batch_result_says_how_many_were_assigned_and_why_the_rest_were_not():
    """Tests the batch summary: how many assigned with the total travel, how many left and each one's reason."""
    result = BatchResult(assigned=[(7, 1, 240.0), (8, 2, 180.0)], unassigned=[(9, "no worker has skill x")], total_cost_s=420.0)  # fmt: skip
    view = orders.batch_view(result)
    assert "2 assigned (total travel 7 min), 1 left:" in texts(view)
    assert "#9: No worker has skill x" in texts(view)
    done = orders.batch_view(replace(result, unassigned=[]))
    assert texts(done) == "2 assigned (total travel 7 min)." and done.className == "ok"
    assert texts(orders.batch_view(BatchResult([], [], 0.0))) == "No new orders to assign."
    nobody = orders.batch_view(BatchResult([], [(9, "off shift")], 0.0))
    assert "0 assigned, 1 left:" in texts(nobody) and "#9: Off shift" in texts(nobody)


def test_assign_all_is_for_roles_that_may_assign():
    """Tests that 'Assign all open orders' runs the batch for a dispatcher and refuses a manager without calling it."""
    callbacks, dispatch, auth = wire()
    assert "2 assigned (total travel 7 min)." == texts(callbacks.assign_all(1))
    assert dispatch.calls == [("batch", {"order_ids": None})] and auth.asked == [Action.MANAGE_ORDERS]
    with pytest.raises(PreventUpdate):
        callbacks.assign_all(None)
    callbacks, dispatch, _ = wire(actor=MANAGER)
    assert "manager may not manage-orders" in texts(callbacks.assign_all(1)) and dispatch.calls == []


def test_batch_button_is_shown_only_to_roles_that_may_assign():
    """Tests that the batch bar is visible for a dispatcher, hidden for a manager and for nobody signed in."""
    assert wire()[0].manage_controls(ids.WALL) == "batch-bar"
    assert wire(actor=MANAGER)[0].manage_controls(ids.WALL).endswith("actions-hidden")
    assert wire(actor=None)[0].manage_controls(ids.WALL).endswith("actions-hidden")


def test_near_form_becomes_a_query_at_the_orders_site():
    """Tests that the form reads as a query at the selected order's site, skills trimmed and lower-cased, N defaulting to 5."""
    target = {"order_id": 7, "lat": 43.7394, "lon": 7.4276}
    query = orders.parse_near({"order_id": 7}, target, ["Gas", " "], 3)
    assert query == orders.NearQuery(7, LatLon(43.7394, 7.4276), 3, frozenset({"gas"}))
    assert orders.parse_near({"order_id": 7}, target, None, None).n == 5


@pytest.mark.parametrize(
    ("selected", "target", "n", "words"),
    [(None, None, 5, "select an order"), ({"order_id": 7}, {"order_id": 8, "lat": 43.7, "lon": 7.4}, 5, "not on the map"),
     ({"order_id": 7}, {"order_id": 7, "lat": 43.7, "lon": 7.4}, 0, "between 1 and 50"),
     ({"order_id": 7}, {"order_id": 7, "lat": 43.7, "lon": 7.4}, 2.5, "whole number")],
)  # fmt: skip
def test_bad_near_queries_say_why(selected, target, n, words):
    """Tests that no selection, a stale map point, and a bad N are refused with the reason."""
    with pytest.raises(FieldError) as err:
        orders.parse_near(selected, target, ["gas"], n)
    assert words in err.value.reason


def test_near_list_is_by_eta_with_an_assign_button_each():
    """Tests that who-is-near lists workers nearest first with ETA, distance and origin, each with its own Assign button."""
    query = orders.NearQuery(7, LatLon(43.7394, 7.4276), 5, frozenset({"gas"}))
    found = [(Nearby(1, 40.0, 300.0, Origin.HOME_BASE), "Near Gas"), (Nearby(2, 240.0, 1500.0, Origin.FIX), "Far Gas")]
    view = orders.near_view(found, query, can_manage=True)
    rows = find(view, lambda c: isinstance(c, html.Li))
    assert [texts(find(r, lambda c: "near-name" in getattr(c, "className", ""))) for r in rows] == [
        "Near Gas",
        "Far Gas",
    ]
    assert "ETA <1 min" in texts(rows[0]) and "300 m · from home base" in texts(rows[0])
    assert "ETA 4 min" in texts(rows[1]) and "1.5 km · from last fix" in texts(rows[1])
    buttons = find(view, lambda c: isinstance(getattr(c, "id", None), dict))
    assert [b.id for b in buttons] == [{"type": ids.NEAR_ASSIGN, "index": 1}, {"type": ids.NEAR_ASSIGN, "index": 2}]
    assert find(orders.near_view(found, query, can_manage=False), lambda c: isinstance(c, html.Button)) == []
    nobody = orders.near_view([], query, can_manage=True)
    assert texts(nobody) == "Nobody with gas is available now." and nobody.className == "warn"


def test_find_near_asks_the_service_at_the_site():
    """Tests that Find asks who-is-near at the order's site with the form's skills and N, and a bad N asks nothing."""
    callbacks, dispatch, _ = wire()
    target = {"order_id": 7, "lat": 43.7394, "lon": 7.4276}
    view = callbacks.find_near(1, {"order_id": 7}, target, ["gas"], 1)
    assert dispatch.calls == [("near", {"point": LatLon(43.7394, 7.4276), "n": 1, "skills": frozenset({"gas"})})]
    assert "Near Gas" in texts(view) and "Far Gas" not in texts(view)
    message = callbacks.find_near(2, {"order_id": 7}, target, ["gas"], 500)
    assert "between 1 and 50" in texts(message) and message.className == "error" and len(dispatch.calls) == 1
    with pytest.raises(PreventUpdate):
        callbacks.find_near(0, {"order_id": 7}, target, [], 5)


def test_near_assign_goes_through_the_assign_path_with_its_override_rules():
    """Tests that Assign in the who-is-near list assigns like a candidate's button: an override still needs a reason."""
    callbacks, dispatch, _ = wire()
    refused = callbacks.act_on_order(assign_click(ids.NEAR_ASSIGN, 2), None, "", {"order_id": 7})
    assert refused["notice"] == {"kind": "refused", "text": "An override of the proposed worker needs a reason"}
    done = callbacks.act_on_order(assign_click(ids.NEAR_ASSIGN, 2, click=2), None, "closest now", {"order_id": 7})
    assert done == {"order_id": 7, "notice": {"kind": "assigned", "worker_id": 2}}
    assert dispatch.calls[-1] == ("assign", {"order_id": 7, "worker_id": 2, "reason": "closest now"})


def test_field_record_shows_verdicts_photos_and_the_report():
    """Tests that a suspicious check-in stands out, photos are thumbnails opening the original in a new tab,
    and the report shows its text, checklist ticks, parts and who signed."""
    view = orders.field_record_view(RECORD)
    suspicious, verified = find(view, lambda c: isinstance(c, html.Li) and "checkin" in getattr(c, "className", ""))
    assert suspicious.className == "checkin checkin-suspicious"
    assert texts(suspicious) == "⚠ Check-in · outside the site's geofence · 140 m from the site"
    assert (
        verified.className == "checkin checkin-verified"
        and texts(verified) == "✓ Check-out · verified · 12 m from the site"
    )
    (link,) = find(view, lambda c: isinstance(c, html.A))
    assert (link.href, link.target) == ("/api/v1/photos/31/original", "_blank")
    assert link.children.src == "/api/v1/photos/31/thumbnail"
    text = texts(view)
    assert "Valve replaced" in text and "☑ Fault found" in text and "☐ Area left clean" in text
    assert "Parts: valve × 2" in text and "Signed by M. Rossi (signature on file)" in text
    assert "Written at 10:40 UTC" in text
    empty = orders.field_record_view({"order_id": 7, "checkins": [], "photos": [], "report": None})
    assert texts(empty) == "Nothing from the field yet."


def test_field_record_is_fetched_for_the_selected_order_only():
    """Tests that the field section asks for the selected order's record, hides with no order, and names an unknown one."""
    field = FakeField()
    callbacks, _, auth = wire(field=field)
    css, view = callbacks.show_field_record({"order_id": 7}, None, 0)
    assert css == "field-record" and "Valve replaced" in texts(view)
    assert field.calls == [("record", {"order_id": 7})] and auth.asked == [Action.VIEW_ORDERS]
    assert callbacks.show_field_record(None, None, 0) == (orders.FIELD_HIDDEN, None)
    assert orders.field_record_class({"checkins": [], "photos": [], "report": None}) == orders.FIELD_HIDDEN
    css, view = callbacks.show_field_record({"order_id": 99}, None, 0)
    assert texts(view) == "No order with id 99" and view.className == "error"
    callbacks, _, _ = wire(actor=None, field=field)
    assert texts(callbacks.show_field_record({"order_id": 7}, None, 0)[1]) == "Not authenticated"


# ------------------------------------------------------------------------ the worker card's push link


def wire_live(actor: Actor | None = DISPATCHER, *, hook: bool = False) -> tuple[live.Callbacks, FakeField]:
    field = FakeField(hook=hook)
    cards = {
        3: {
            "worker_id": 3, "name": "Sparks", "team": "North", "skills": ["electrical"], "on_shift": True,
            "last_fix_time": None, "battery_pct": None, "speed_mps": None, "current_order": None,
        }
    }  # fmt: skip

    def worker_card(worker_id: int) -> dict[str, Any] | None:
        return cards.get(worker_id)

    callbacks = live.register(
        Dash(__name__),
        worker_card=worker_card,
        field=field,
        auth=FakeAuth(actor),  # type: ignore[arg-type]
    )
    return callbacks, field


def test_issued_link_shows_qr_code_url_and_expiry():
    """Tests that an issued link is shown as an SVG QR code <img>, the URL to copy, and when it stops working."""
    link = IssuedLink(3, "Sparks", "tok", "http://wall:8050/field/tok", at("2025-03-05T01:00:00Z"))
    view = live.link_view(link, sent=False)
    (img,) = find(view, lambda c: isinstance(c, html.Img))
    assert img.src.startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(img.src.split(",", 1)[1])
    (url,) = find(view, lambda c: getattr(c, "id", None) == ids.PUSH_URL)
    assert url.children == "http://wall:8050/field/tok"
    assert find(view, lambda c: getattr(c, "id", None) == ids.PUSH_COPY)
    assert "Valid until Wed 05 Mar 01:00 UTC" in texts(view) and "Today's link for Sparks" in texts(view)
    assert "Sent to Sparks." in texts(live.link_view(link, sent=True))


def test_push_link_issues_todays_link_and_send_explains_a_missing_hook():
    """Tests that Push link issues today's link without sending, and Send without a hook says how to configure one."""
    callbacks, field = wire_live()
    clicked(f"{ids.PUSH_LINK}.n_clicks")
    view = callbacks.push_action(1, 0, None, 3)
    assert field.calls == [("issue", {"worker_id": 3, "day": TODAY, "send": False})]
    assert "http://wall:8050/field/tok" in texts(view)
    clicked(f"{ids.PUSH_SEND}.n_clicks")
    error = callbacks.push_action(1, 1, None, 3)
    assert error.className == "error"
    assert texts(error) == "No notification hook is configured (set OUTFIELD_LINK_WEBHOOK)"
    callbacks, field = wire_live(hook=True)
    assert "Sent to Sparks." in texts(callbacks.push_action(1, 1, None, 3))


def test_revoke_links_and_who_may_push():
    """Tests that Revoke links revokes and says so, a manager is refused, and a redrawn button does nothing."""
    callbacks, field = wire_live()
    clicked(f"{ids.PUSH_REVOKE}.submit_n_clicks")
    assert "Links revoked" in texts(callbacks.push_action(0, 0, 1, 3))
    assert field.calls == [("revoke", {"worker_id": 3})]
    clicked(f"{ids.PUSH_LINK}.n_clicks", 0)
    with pytest.raises(PreventUpdate):
        callbacks.push_action(0, 0, None, 3)
    callbacks, field = wire_live(actor=MANAGER)
    clicked(f"{ids.PUSH_LINK}.n_clicks")
    assert texts(callbacks.push_action(1, 0, None, 3)) == "Role manager may not manage-orders" and field.calls == []
    with pytest.raises(ValueError, match="select a worker"):
        live.parse_push(ids.PUSH_LINK, None)


def test_push_panel_is_shown_with_the_card_to_roles_that_may_assign():
    """Tests that a dispatcher sees the push panel under a worker's card, a manager does not, nor for an unknown worker."""
    callbacks, _ = wire_live()
    card, css, result = callbacks.show_card(3)
    assert "Sparks" in texts(card) and css == "push-panel" and result is None
    assert callbacks.show_card(99)[1] == live.PANEL_HIDDEN
    assert callbacks.show_card(None)[1] == live.PANEL_HIDDEN
    callbacks, _ = wire_live(actor=MANAGER)
    assert callbacks.show_card(3)[1] == live.PANEL_HIDDEN


def test_the_page_builds_with_every_new_control_once():
    """Tests that the whole page builds (Dash checks every component's arguments) with the push panel, the batch
    button, the who-is-near form and the field section, each id present exactly once."""
    empty = {"type": "FeatureCollection", "features": []}
    page = live.layout(LiveSnapshot(workers=empty, orders=empty), tile_url=None, actor_name="dispatcher")
    found = find(page, lambda c: isinstance(getattr(c, "id", None), str))
    seen = [c.id for c in found]
    for wanted in (ids.PUSH_LINK, ids.PUSH_SEND, ids.PUSH_REVOKE, ids.BATCH_ASSIGN, ids.NEAR_SKILLS, ids.NEAR_N,
                   ids.NEAR_SEARCH, ids.FIELD_SECTION, ids.ORDER_FIELD, ids.NEAR_TARGET, ids.NEAR_DEFAULTS):  # fmt: skip
        assert seen.count(wanted) == 1, wanted
    assert len(seen) == len(set(seen))


def test_the_live_map_links_only_to_the_pages_the_readers_role_may_open():
    """Tests that the live map's header links a dispatcher to the plans and the administration only (the check-in
    review, the forms and the timesheets would refuse them), and a manager also to those three, attendance included;
    before, a dispatcher was offered "Check-in review" and "Forms and approvals" that answered "Your role may not"."""
    empty = {"type": "FeatureCollection", "features": []}

    def links(role: Role) -> list[str]:
        reader = Actor(id=1, name="reader", role=role)
        page = live.layout(
            LiveSnapshot(workers=empty, orders=empty), tile_url=None, actor_name="reader",
            may=lambda action: can(reader, action).allowed,
        )  # fmt: skip
        return [c.href for c in find(page, lambda c: isinstance(c, html.A))]

    assert links(Role.DISPATCHER) == ["/plans/", "/admin/"]
    assert links(Role.MANAGER) == ["/plans/", "/review/", "/forms/", "/attendance/", "/admin/"]


def test_a_card_with_hundreds_of_workers_lists_the_first_twenty_and_shows_all_on_request():
    """Tests that an order open to 150 workers lists the best 20 candidates (each with Assign) and 20 excluded
    workers, with 'Show all 150 candidates' and 'Show all 60 excluded workers' buttons, and everyone once asked."""
    many = Ranking(
        candidates=tuple(candidate(i, 60.0 * i) for i in range(1, 151)),
        excluded=tuple(Excluded(1000 + i, Exclusion.NO_SKILL, "no skill gas") for i in range(60)),
    )
    card, excluded, _, _ = orders.order_view(explained(ranking=many), can_manage=True, notice=None)
    assert len(assign_buttons(card)) == 20 and "Show all 150 candidates" in texts(card)
    assert texts(excluded).count("no skill gas") == 20 and "Show all 60 excluded workers" in texts(excluded)
    card, excluded, _, _ = orders.order_view(explained(ranking=many), can_manage=True, notice=None, show_all=True)
    assert len(assign_buttons(card)) == 150 and "Show all" not in texts(card)
    assert texts(excluded).count("no skill gas") == 60 and "Show all" not in texts(excluded)


def test_show_all_applies_to_the_order_it_was_asked_for_only():
    """Tests that 'Show all' asked on one order's card does not unfold the next order the dispatcher opens."""
    callbacks, dispatch, _ = wire()
    dispatch.order = make_order()
    many = Ranking(candidates=tuple(candidate(i, 60.0 * i) for i in range(1, 31)), excluded=())
    dispatch.candidates = lambda *, actor, order_id: explained(dispatch.order, many)  # type: ignore[method-assign]
    card, *_ = callbacks.show_order({"order_id": 7}, None, {"order_id": 7})
    assert len(assign_buttons(card)) == 30
    card, *_ = callbacks.show_order({"order_id": 7}, None, {"order_id": 8})
    assert len(assign_buttons(card)) == 20


def test_a_late_entry_is_marked_in_the_orders_field_record_with_its_reason_as_text():
    """Tests that a late check-in shows as a late entry with its time, its approval state and the worker's reason
    (markup in it stays text)."""
    record = {"order_id": 7, "checkins": [], "photos": [], "report": None,
              "late_entries": [{"kind": "in", "at": "2026-03-02T10:00:00+00:00", "status": "pending",
                                "reason": "<b>no signal</b>"}]}  # fmt: skip
    assert orders.field_record_class(record) == "field-record"
    (late_list,) = [p for p in orders.field_record_view(record) if "late-entries" in (p.className or "")]
    (row,) = late_list.children
    assert row.children == "⚠ Late entry: check-in at 10:00 UTC · waits for a manager · “<b>no signal</b>”"

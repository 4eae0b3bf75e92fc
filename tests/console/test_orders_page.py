"""The order panel without a browser: its parsers, presenters, and callbacks wired to fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from dash import Dash, html, no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from console.auth import ApiError
from console.dispatch_service import Created, Explained, NotFound
from console.order_input import FieldError, NewOrder, parse_new_order
from console.pages import ids, orders
from dispatch.access import Action, Actor, Role
from dispatch.assign import AutoDispatched, Candidate, Excluded, Exclusion, ManualDispatch, Origin, Ranking
from dispatch.geo import LatLon
from dispatch.lifecycle import LifecycleEvent, Refused, StatusChange
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from dispatch.sites import Site
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
    """Every string inside a component tree, joined (what a person would read)."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(texts(c) for c in component)
    return texts(getattr(component, "children", None))


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


def assign_buttons(component: Any) -> list[Any]:
    return find(component, lambda c: isinstance(getattr(c, "id", None), dict) and c.id.get("type") == ids.ASSIGN)


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
    """Tests that an Assign button names its worker, Cancel names none, and the reason is trimmed."""
    selected = {"order_id": 7}
    assert orders.parse_command({"type": ids.ASSIGN, "index": 2}, selected, " asked ") == orders.Command(7, 2, "asked")
    assert orders.parse_command(ids.CANCEL_ORDER, selected, None) == orders.Command(7, None, "")
    with pytest.raises(FieldError, match="select an order"):
        orders.parse_command(ids.CANCEL_ORDER, None, "")
    assert orders.selected_order_id({"order_id": True}) is None


# ------------------------------------------------------------------------------------------- presenters


def test_card_ranks_candidates_with_eta_score_and_one_click_assign():
    """Tests that the card lists candidates best first with ETA and score, and every one has an Assign button (the top one primary)."""
    card, excluded, message, actions = orders.order_view(explained(), can_manage=True, notice=None)
    rows = find(card, lambda c: isinstance(c, html.Li))
    assert [texts(find(r, lambda c: getattr(c, "className", "") == "cand-name")) for r in rows] == [
        "Near Gas",
        "Far Gas",
    ]
    assert "ETA <1 min" in texts(rows[0]) and "score 2.7" in texts(rows[0])
    assert "ETA 4 min" in texts(rows[1])
    buttons = assign_buttons(card)
    assert [(b.id["index"], b.className) for b in buttons] == [(1, "assign primary"), (2, "assign")]
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
    assert [b.id["index"] for b in assign_buttons(card)] == [2]
    assert find(card, lambda c: getattr(c, "className", "") == "candidate best current")


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


def wire(actor: Actor | None = DISPATCHER) -> tuple[orders.Callbacks, FakeDispatch, FakeAuth]:
    dispatch, auth = FakeDispatch(), FakeAuth(actor)
    sites = [Site(id=1, name="Casino", address="", location=LatLon(43.7394, 7.4276))]
    callbacks = orders.register(Dash(__name__), dispatch=dispatch, auth=auth, list_sites=lambda: sites)  # type: ignore[arg-type]
    return callbacks, dispatch, auth


def clicked(prop_id: str, value: Any = 1) -> None:
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))


def test_show_order_authorises_then_explains():
    """Tests that opening an order asks for view-orders, then the candidates, and shows the ranked card."""
    callbacks, dispatch, auth = wire()
    card, excluded, message, actions = callbacks.show_order({"order_id": 7}, None)
    assert auth.asked == [Action.VIEW_ORDERS] and dispatch.calls == [("candidates", {"order_id": 7})]
    assert len(assign_buttons(card)) == 2 and actions == "order-actions"


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
    clicked('{"index":2,"type":"assign-worker"}.n_clicks')
    refused = callbacks.act_on_order([0, 1], None, "", {"order_id": 7})
    assert refused["notice"] == {"kind": "refused", "text": "An override of the proposed worker needs a reason"}
    clicked('{"index":1,"type":"assign-worker"}.n_clicks')
    done = callbacks.act_on_order([1, 0], None, None, {"order_id": 7})
    assert done == {"order_id": 7, "notice": {"kind": "assigned", "worker_id": 1}}
    assert [c[1]["worker_id"] for c in dispatch.calls] == [2, 1]
    assert auth.asked == [Action.MANAGE_ORDERS] * 2


def test_redrawn_buttons_do_nothing_and_cancel_moves_the_order():
    """Tests that buttons being redrawn (no click) change nothing, and Cancel cancels with the typed note."""
    callbacks, dispatch, _ = wire()
    clicked('{"index":1,"type":"assign-worker"}.n_clicks', 0)
    with pytest.raises(PreventUpdate):
        callbacks.act_on_order([0, 0], None, "", {"order_id": 7})
    clicked(f"{ids.CANCEL_ORDER}.submit_n_clicks")
    result = callbacks.act_on_order([0, 0], 1, " duplicate ", {"order_id": 7})
    assert result["notice"] == {"kind": "cancelled"}
    assert dispatch.calls == [("move", {"order_id": 7, "to": OrderStatus.CANCELLED, "reason": "duplicate"})]


def test_manager_may_not_assign():
    """Tests that a manager's click is refused with the policy's reason and nothing is called."""
    callbacks, dispatch, _ = wire(actor=MANAGER)
    clicked('{"index":1,"type":"assign-worker"}.n_clicks')
    result = callbacks.act_on_order([1], None, "", {"order_id": 7})
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


def test_sites_load_once_when_the_form_opens():
    """Tests that the picker's sites are fetched on first opening the form, and a manager is told why not."""
    callbacks, _, _ = wire()
    options, layer, message = callbacks.load_sites(orders.TAB_NEW_ORDER, [])
    assert options == [{"label": "Casino", "value": 1}] and len(layer["features"]) == 1 and message == ""
    with pytest.raises(PreventUpdate):
        callbacks.load_sites(orders.TAB_NEW_ORDER, options)
    with pytest.raises(PreventUpdate):
        callbacks.load_sites(orders.TAB_WORKERS, [])
    callbacks, _, _ = wire(actor=MANAGER)
    options, _, message = callbacks.load_sites(orders.TAB_NEW_ORDER, None)
    assert options == [] and "manager may not" in texts(message)

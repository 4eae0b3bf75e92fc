"""The plan page's presenters: KPIs, progress line, route layers, Gantt bars and the unplanned list.

They present the typed plan values of `services.plan_views`; the plans below are documents as a plan row stores
them, read by `plan_view` as the job service reads them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from console.pages.plans import gantt, map_view, panels, summary, wiring
from routing.compare import DroppedVisit, MovedVisit, PlanDiff, WorkerDiff
from routing.plan import UnplannedReason
from services.plan_views import JobProgress, PlanComparison, PlanStatus, PlanSummary, PlanView, PlanViolation, plan_view

DAY = date(2025, 3, 4)


def view(document: dict[str, Any]) -> PlanView:
    return plan_view(document, DAY)


PLAN = {
    "engine": "test",
    "travel_s": 1800,
    "distance_m": 9000,
    "planned": 3,
    "routes": [
        {"worker_id": 7, "name": "Ana", "start": "2025-03-04T08:00:00+00:00", "end": "2025-03-04T10:00:00+00:00",
         "travel_s": 1200, "distance_m": 6000, "wait_s": 600,
         "stops": [
             {"order_id": 1, "arrival": "2025-03-04T08:50:00+00:00", "start": "2025-03-04T09:00:00+00:00",
              "end": "2025-03-04T09:30:00+00:00", "wait_s": 600, "travel_s": 600, "distance_m": 3000},
             {"order_id": 2, "arrival": "2025-03-04T09:40:00+00:00", "start": "2025-03-04T09:40:00+00:00",
              "end": "2025-03-04T10:00:00+00:00", "wait_s": 0, "travel_s": 600, "distance_m": 3000},
         ],
         "breaks": [{"start": "2025-03-04T09:30:00+00:00", "end": "2025-03-04T09:35:00+00:00"}]},
        {"worker_id": 8, "name": "Bo", "start": "2025-03-04T09:00:00+00:00", "end": "2025-03-04T10:00:00+00:00",
         "travel_s": 600, "distance_m": 3000, "wait_s": 0,
         "stops": [
             {"order_id": 3, "arrival": "2025-03-04T09:10:00+00:00", "start": "2025-03-04T09:10:00+00:00",
              "end": "2025-03-04T09:40:00+00:00", "wait_s": 0, "travel_s": 600, "distance_m": 3000},
         ],
         "breaks": []},
    ],
    "unplanned": [{"order_id": 4, "reason": "no qualified worker"}],
}  # fmt: skip
PLACES = {1: (43.7394, 7.4276, "Casino"), 2: (43.7347, 7.4214, "Port"), 3: (43.7290, 7.4160, "Fontvieille"),
          4: (43.7347, 7.4214, "Port")}  # fmt: skip


def test_kpis_sum_service_and_travel_over_the_shift_spans():
    """Tests that the KPIs count visits, unplanned orders, travel hours, utilisation and on-time share."""
    kpis = summary.plan_kpis(view(PLAN))
    # service 30+20+30 = 80 min, travel 30 min, spans 120+60 = 180 min -> 61 %
    assert kpis == {"planned": "3", "unplanned": "1", "travel": "0.5 h", "utilisation": "61%", "on_time": "100%"}


def test_kpis_of_an_empty_plan_do_not_divide_by_zero():
    """Tests that a plan with no routes shows dashes, not an error."""
    kpis = summary.plan_kpis(view({"routes": [], "unplanned": []}))
    assert kpis["utilisation"] == "–" and kpis["on_time"] == "–" and kpis["planned"] == "0"


def test_progress_line_shows_state_cost_and_elapsed_time():
    """Tests that a running job reads as its state, best cost, elapsed seconds and solutions."""
    text = summary.progress_text("running", JobProgress(best_cost=12345.6, elapsed_s=1.25, solutions=4))
    assert text == "Running · best cost 12,346 · 1.2 s elapsed · 4 solutions"
    assert summary.progress_text(None, None) == "Queued"
    assert "boom" in summary.progress_text("failed", None, "boom")


def test_each_route_is_a_coloured_polyline_with_numbered_stops():
    """Tests that each worker gets one polyline in its own colour through its stops and numbered markers."""
    layers = map_view.route_layers(view(PLAN), PLACES)
    lines = [c for c in layers if type(c).__name__ == "Polyline"]
    markers = [c for c in layers if type(c).__name__ == "DivMarker"]
    assert [line.positions for line in lines] == [[[43.7394, 7.4276], [43.7347, 7.4214]], [[43.7290, 7.4160]]]
    assert lines[0].color != lines[1].color
    assert "plan-route-7" in lines[0].className
    assert [">1<" in m.iconOptions["html"] or ">2<" in m.iconOptions["html"] for m in markers] == [True] * 3
    (south, west), (north, east) = map_view.route_bounds(view(PLAN), PLACES)
    assert (round(south, 4), round(west, 4), round(north, 4), round(east, 4)) == (43.727, 7.414, 43.7414, 7.4296)
    assert map_view.route_bounds(view({"routes": []}), PLACES) is None


def test_routes_are_drawn_along_their_paths_and_say_when_roads_are_missing():
    """Tests that with a road network each route's polyline follows its path (the road's bends), and without
    one the lines stay straight and the map carries the note that roads are not built."""
    from routing.paths import LegPaths
    from routing.travel import StraightLine

    def bendy(points):
        from dispatch.geo import LatLon
        from routing.paths import RoutePath

        bent = [points[0]]
        for a, b in zip(points, points[1:], strict=False):
            bent += [LatLon((a.lat + b.lat) / 2 + 0.001, (a.lon + b.lon) / 2), b]
        return RoutePath(points=tuple(bent), on_roads=True)

    paths = map_view.route_paths(view(PLAN), PLACES, bendy)
    lines = [c for c in map_view.route_layers(view(PLAN), PLACES, (), paths) if type(c).__name__ == "Polyline"]
    assert len(lines[0].positions) == 3 and lines[0].positions[1][0] > 43.7380  # Casino → bend → Port
    assert lines[1].positions == [[43.7290, 7.4160]]  # a single stop: nothing to join
    assert map_view.roads_note(paths) == ""
    straight = map_view.route_paths(view(PLAN), PLACES, LegPaths(StraightLine()).path)
    assert "roads are not built" in map_view.roads_note(straight).lower()
    lines = [c for c in map_view.route_layers(view(PLAN), PLACES, (), straight) if type(c).__name__ == "Polyline"]
    assert lines[0].positions == [[43.7394, 7.4276], [43.7347, 7.4214]]


def test_gantt_has_travel_waiting_service_and_break_bars():
    """Tests that the timeline shows travel ending at each arrival, waiting until the start, service and breaks."""
    segments = gantt.gantt_segments(view(PLAN))
    ana = [(s.kind, f"{s.start:%H:%M}", f"{s.end:%H:%M}") for s in segments if s.worker == "Ana"]
    assert ana == [("travel", "08:40", "08:50"), ("waiting", "08:50", "09:00"), ("service", "09:00", "09:30"),
                   ("travel", "09:30", "09:40"), ("service", "09:40", "10:00"), ("break", "09:30", "09:35")]  # fmt: skip
    fig = gantt.gantt_figure(view(PLAN))
    assert {t.name for t in fig.data} == {"travel", "waiting", "service", "break"}
    service = next(t for t in fig.data if t.name == "service")
    assert list(service.y) == ["Ana", "Ana", "Bo"] and service.x[0] == 30 * 60 * 1000


def test_unplanned_list_names_the_reason():
    """Tests that every unplanned order is listed with its site and reason, and an empty list says so."""
    text = str(panels.unplanned_list(view(PLAN), PLACES))
    assert "Order 4" in text and "no qualified worker" in text and "Port" in text
    assert "Every order is planned" in str(panels.unplanned_list(view({"routes": [], "unplanned": []}), PLACES))


def test_the_page_opens_on_the_first_day_with_open_orders():
    """Tests that the plan page opens on today when today has open orders (the demo day), else the next such day, else tomorrow."""
    now = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    assert summary.default_day(now, [date(2025, 3, 3), date(2025, 3, 5)]) == date(2025, 3, 3)
    assert summary.default_day(now, [date(2025, 3, 1), date(2025, 3, 5)]) == date(2025, 3, 5)
    assert summary.default_day(now, []) == date(2025, 3, 4)


SHIFTED = {
    **PLAN,
    "routes": [
        {**PLAN["routes"][0], "shift_start": "2025-03-04T08:00:00+00:00", "shift_end": "2025-03-04T12:00:00+00:00",
         "start_location": {"lat": 43.7300, "lon": 7.4200}, "end_location": {"lat": 43.7310, "lon": 7.4210}},
        {**PLAN["routes"][1], "shift_start": "2025-03-04T08:00:00+00:00", "shift_end": "2025-03-04T12:00:00+00:00"},
    ],
}  # fmt: skip


def test_utilisation_is_over_the_shift_when_the_plan_carries_it():
    """Tests that utilisation divides service and travel by the workers' shifts, not by the routes' own spans."""
    # service 80 min + travel 30 min over two 4-hour shifts (480 min) -> 23 %
    assert summary.plan_kpis(view(SHIFTED))["utilisation"] == "23%"


def test_a_window_broken_by_a_manual_move_counts_as_late():
    """Tests that on-time share drops when a moved visit misses its window."""
    violations = [PlanViolation("window", "order 2 starts after its window", worker_id=7, order_id=2)]
    assert summary.plan_kpis(view(PLAN), violations)["on_time"] == "67%"
    assert summary.plan_kpis(view(PLAN), [PlanViolation("skill", "", order_id=2)])["on_time"] == "100%"


def test_route_runs_from_the_worker_start_to_their_end_and_marks_broken_stops():
    """Tests that a route line starts at the worker's start point, ends at their end point, and a violated stop is ringed red."""
    violations = [PlanViolation("window", "late", worker_id=7, order_id=2)]
    layers = map_view.route_layers(view(SHIFTED), PLACES, violations)
    lines = [c for c in layers if type(c).__name__ == "Polyline"]
    assert lines[0].positions[0] == [43.7300, 7.4200] and lines[0].positions[-1] == [43.7310, 7.4210]
    assert len(lines[0].positions) == 4
    bases = [c for c in layers if type(c).__name__ == "CircleMarker"]
    assert [b.center for b in bases] == [[43.7300, 7.4200]]
    markers = [c for c in layers if type(c).__name__ == "DivMarker"]
    flagged = [m for m in markers if "plan-stop-violated" in m.iconOptions["className"]]
    assert len(flagged) == 1 and "breaks: window" in str(flagged[0].children.children)
    bars = gantt.gantt_segments(view(SHIFTED), violations)
    assert [s.label for s in bars if s.violated] == ["order 2 · breaks window"]


def test_violations_list_names_each_rule_or_says_all_are_kept():
    """Tests that the rules panel lists each broken rule with its message, or says the plan keeps them all."""
    text = str(panels.violations_list([PlanViolation("window", "order 2 arrives 10:40 after its window ends 10:00")]))
    assert "window" in text and "after its window ends 10:00" in text
    assert "keeps every rule" in str(panels.violations_list([]))


def test_compare_panel_lists_moves_and_who_gains_or_loses():
    """Tests that the comparison with the published plan names moved visits and each worker's gain or loss."""
    diff = PlanDiff(
        moved=(MovedVisit("2", "7", "8", previous_start_s=9 * 3600 + 40 * 60, start_s=10 * 3600 + 10 * 60),),
        dropped=(DroppedVisit("5", "7", previous_start_s=11 * 3600, reason=UnplannedReason.NO_QUALIFIED_WORKER),),
        workers=(WorkerDiff("7", lost=("2",)), WorkerDiff("8", gained=("2",))),
    )
    comparison = PlanComparison(published_id=3, diff=diff, day=DAY, zone=UTC, names={"7": "Ana", "8": "Bo"})
    text = str(panels.compare_panel(comparison, is_published=False))
    assert "published plan 3: 1 visit moves, 1 dropped" in text and "Order 2: Ana → Bo, 09:40 → 10:10" in text
    assert "Ana: -1 visit" in text and "Bo: +1 visit" in text and "Order 5 dropped (no qualified worker)" in text
    assert "Nothing is published" in str(panels.compare_panel(None, is_published=False))
    assert "the day's published plan" in str(panels.compare_panel(None, is_published=True))


def test_plan_picker_shows_the_published_plan_first_choice():
    """Tests that the picker labels each plan with its state and origin and picks the published one by default."""
    summaries = [
        PlanSummary(id=9, day=DAY, state="done", published=False, created_at=datetime(2025, 3, 4, 7, 10, tzinfo=UTC),
                    planned=3, unplanned=1, edited_from=8),
        PlanSummary(id=8, day=DAY, state="done", published=True, created_at=datetime(2025, 3, 4, 7, 0, tzinfo=UTC),
                    planned=3, unplanned=1),
    ]  # fmt: skip
    labels = [o["label"] for o in summary.plan_options(summaries)]
    assert labels[0] == "Plan 9 · done · 07:10 · 3 planned, 1 unplanned · edit of 8"
    assert "PUBLISHED" in labels[1]
    assert summary.default_plan(summaries) == 8
    assert summary.default_plan(summaries[:1]) == 9 and summary.default_plan([]) is None


def test_the_picker_follows_requests_only_for_the_day_the_date_field_shows():
    """Tests that the picker lists the plans of the day in the date field: a request for another day (a job started
    before the manager changed the date, ending now) leaves it as it is, and a date change wins over such a request."""
    assert wiring.shows_day("2025-03-04", DAY) and wiring.shows_day("2025-03-04T00:00:00", DAY)
    assert not wiring.shows_day("2025-03-05", DAY)
    assert not wiring.shows_day(None, DAY) and not wiring.shows_day("", DAY) and wiring.day_of("soon") is None
    change, Change = wiring.picker_change, wiring.PickerChange
    ended, refresh = wiring.pick_request(DAY, select=9), wiring.pick_request(DAY)
    shown, other = "2025-03-04", "2025-03-05"

    assert change(shown, shown, ended) == Change(DAY, select=9)  # a job of the day shown ends: its plan is picked
    assert change(other, other, ended) is None  # ... of another day: the picker stays as it is
    assert change(shown, shown, refresh) == Change(DAY, keep=True)  # labels only, the picked plan kept
    assert change(other, other, refresh) is None
    assert change(other, shown, None) == Change(date(2025, 3, 5))  # the date changed: that day's default plan
    assert change(shown, shown, None) is None
    # The date changed while the asking callback ran, or its own run was dropped for this one: whatever set the
    # picker off, a list of another day than the date field's is replaced by that day's, and its default picked.
    assert change(other, shown, ended) == Change(date(2025, 3, 5))
    assert change(shown, other, ended) == Change(DAY, select=9)
    # What a browser may send instead of a request or a day is no change, not an error.
    assert change(shown, shown, ["2025-03-04"]) is None  # type: ignore[arg-type]
    assert change(shown, shown, {"day": "2025-03-04", "select": "9"}) == Change(DAY, keep=True)
    assert change(shown, None, None) == Change(DAY) and change(None, shown, ended) is None


def test_a_job_ending_on_another_day_says_where_its_plan_is():
    """Tests that the progress line of a job of a day not shown keeps its state and names the plan and its day."""
    line = summary.progress_text("done", JobProgress(best_cost=1234.0, elapsed_s=2.0, solutions=7))
    assert summary.ready_elsewhere(line, 12, DAY) == (
        "Done · best cost 1,234 · 2.0 s elapsed · 7 solutions · plan 12 of 2025-03-04 is ready: pick that day to see it"
    )


def test_move_choices_offer_every_order_and_worker_of_the_plan():
    """Tests that "move a visit" offers each planned and unplanned order and each worker of the plan."""
    orders, workers = panels.move_choices(view(PLAN), PLACES)
    assert [o["value"] for o in orders] == [1, 2, 3, 4]
    assert orders[0]["label"] == "Order 1 · Casino · Ana 09:00"
    assert workers == [{"label": "Ana", "value": 7}, {"label": "Bo", "value": 8}]
    at = datetime(2025, 3, 4, 7, 0, tzinfo=UTC)
    assert summary.badge(PlanStatus(id=1, day=DAY, state="done", created_at=at, published=True))[0] == "Published"
    assert summary.badge(PlanStatus(id=1, day=DAY, state="running", created_at=at))[0] == "Running"
    assert summary.badge(PlanStatus(id=1, day=DAY, state="done", created_at=at))[0] == "Draft"


def test_publish_message_counts_what_was_sent_and_what_already_stood():
    """Tests that the publish message tells new assignments from visits already with their worker and orders kept."""
    result = {"assigned": [{"order_id": 1, "worker_id": 7}], "kept": [{"order_id": 3, "reason": "on site"}]}
    assert summary.publish_message(4, result, planned=5) == (
        "Plan 4 published: 1 assignment sent, 3 already with their worker, 1 kept as they are (under way or finished)."
    )
    assert (
        summary.publish_message(4, {"assigned": [], "kept": []}, planned=0) == "Plan 4 published: 0 assignments sent."
    )

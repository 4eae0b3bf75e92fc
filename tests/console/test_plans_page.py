"""The plan page's presenters: KPIs, progress line, route layers, Gantt bars and the unplanned list."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from console.pages import plans

PLAN = {
    "engine": "test",
    "travel_s": 1800,
    "distance_m": 9000,
    "planned": 3,
    "routes": [
        {"worker_id": 7, "name": "Ana", "start": "2025-03-04T08:00:00", "end": "2025-03-04T10:00:00",
         "travel_s": 1200, "distance_m": 6000, "wait_s": 600,
         "stops": [
             {"order_id": 1, "arrival": "2025-03-04T08:50:00", "start": "2025-03-04T09:00:00",
              "end": "2025-03-04T09:30:00", "wait_s": 600, "travel_s": 600, "distance_m": 3000},
             {"order_id": 2, "arrival": "2025-03-04T09:40:00", "start": "2025-03-04T09:40:00",
              "end": "2025-03-04T10:00:00", "wait_s": 0, "travel_s": 600, "distance_m": 3000},
         ],
         "breaks": [{"start": "2025-03-04T09:30:00", "end": "2025-03-04T09:35:00"}]},
        {"worker_id": 8, "name": "Bo", "start": "2025-03-04T09:00:00", "end": "2025-03-04T10:00:00",
         "travel_s": 600, "distance_m": 3000, "wait_s": 0,
         "stops": [
             {"order_id": 3, "arrival": "2025-03-04T09:10:00", "start": "2025-03-04T09:10:00",
              "end": "2025-03-04T09:40:00", "wait_s": 0, "travel_s": 600, "distance_m": 3000},
         ],
         "breaks": []},
    ],
    "unplanned": [{"order_id": 4, "reason": "no qualified worker"}],
}  # fmt: skip
PLACES = {1: (43.7394, 7.4276, "Casino"), 2: (43.7347, 7.4214, "Port"), 3: (43.7290, 7.4160, "Fontvieille"),
          4: (43.7347, 7.4214, "Port")}  # fmt: skip


def test_kpis_sum_service_and_travel_over_the_shift_spans():
    """Tests that the KPIs count visits, unplanned orders, travel hours, utilisation and on-time share."""
    kpis = plans.plan_kpis(PLAN)
    # service 30+20+30 = 80 min, travel 30 min, spans 120+60 = 180 min -> 61 %
    assert kpis == {"planned": "3", "unplanned": "1", "travel": "0.5 h", "utilisation": "61%", "on_time": "100%"}


def test_kpis_of_an_empty_plan_do_not_divide_by_zero():
    """Tests that a plan with no routes shows dashes, not an error."""
    kpis = plans.plan_kpis({"routes": [], "unplanned": [], "planned": 0})
    assert kpis["utilisation"] == "–" and kpis["on_time"] == "–" and kpis["planned"] == "0"


def test_progress_line_shows_state_cost_and_elapsed_time():
    """Tests that a running job reads as its state, best cost, elapsed seconds and solutions."""
    text = plans.progress_text(
        {"status": "running", "progress": {"best_cost": 12345.6, "elapsed_s": 1.25, "solutions": 4}}
    )
    assert text == "Running · best cost 12,346 · 1.2 s elapsed · 4 solutions"
    assert plans.progress_text({"status": None, "progress": None}) == "Queued"
    assert "boom" in plans.progress_text({"status": "failed", "error": "boom"})


def test_each_route_is_a_coloured_polyline_with_numbered_stops():
    """Tests that each worker gets one polyline in its own colour through its stops and numbered markers."""
    layers = plans.route_layers(PLAN, PLACES)
    lines = [c for c in layers if type(c).__name__ == "Polyline"]
    markers = [c for c in layers if type(c).__name__ == "DivMarker"]
    assert [line.positions for line in lines] == [[[43.7394, 7.4276], [43.7347, 7.4214]], [[43.7290, 7.4160]]]
    assert lines[0].color != lines[1].color
    assert "plan-route-7" in lines[0].className
    assert [">1<" in m.iconOptions["html"] or ">2<" in m.iconOptions["html"] for m in markers] == [True] * 3
    (south, west), (north, east) = plans.route_bounds(PLAN, PLACES)
    assert (round(south, 4), round(west, 4), round(north, 4), round(east, 4)) == (43.727, 7.414, 43.7414, 7.4296)
    assert plans.route_bounds({"routes": []}, PLACES) is None


def test_gantt_has_travel_waiting_service_and_break_bars():
    """Tests that the timeline shows travel ending at each arrival, waiting until the start, service and breaks."""
    segments = plans.gantt_segments(PLAN)
    ana = [(s["kind"], f"{s['start']:%H:%M}", f"{s['end']:%H:%M}") for s in segments if s["worker"] == "Ana"]
    assert ana == [("travel", "08:40", "08:50"), ("waiting", "08:50", "09:00"), ("service", "09:00", "09:30"),
                   ("travel", "09:30", "09:40"), ("service", "09:40", "10:00"), ("break", "09:30", "09:35")]  # fmt: skip
    fig = plans.gantt_figure(PLAN)
    assert {t.name for t in fig.data} == {"travel", "waiting", "service", "break"}
    service = next(t for t in fig.data if t.name == "service")
    assert list(service.y) == ["Ana", "Ana", "Bo"] and service.x[0] == 30 * 60 * 1000


def test_unplanned_list_names_the_reason():
    """Tests that every unplanned order is listed with its site and reason, and an empty list says so."""
    text = str(plans.unplanned_list(PLAN, PLACES))
    assert "Order 4" in text and "no qualified worker" in text and "Port" in text
    assert "Every order is planned" in str(plans.unplanned_list({"unplanned": []}, PLACES))


def test_the_plans_page_is_recognised_by_its_path_or_referrer():
    """Tests that the layout request of the /plans page (referrer /plans) picks the plan page, others the live map."""
    assert plans.is_plans_request(SimpleNamespace(path="/_dash-layout", referrer="http://h:1/plans"))
    assert plans.is_plans_request(SimpleNamespace(path="/_dash-layout", referrer="http://h:1/plans?x=1"))
    assert not plans.is_plans_request(SimpleNamespace(path="/_dash-layout", referrer="http://h:1/"))
    assert not plans.is_plans_request(SimpleNamespace(path="/_dash-layout", referrer=None))
    assert plans.tomorrow_utc(datetime(2025, 3, 3, 23, 30, tzinfo=UTC)) == date(2025, 3, 4)

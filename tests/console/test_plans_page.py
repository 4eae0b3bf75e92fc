"""The plan page's presenters: KPIs, progress line, route layers, Gantt bars and the unplanned list."""

from __future__ import annotations

from datetime import UTC, date, datetime

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

    paths = plans.route_paths(PLAN, PLACES, bendy)
    lines = [c for c in plans.route_layers(PLAN, PLACES, (), paths) if type(c).__name__ == "Polyline"]
    assert len(lines[0].positions) == 3 and lines[0].positions[1][0] > 43.7380  # Casino → bend → Port
    assert lines[1].positions == [[43.7290, 7.4160]]  # a single stop: nothing to join
    assert plans.roads_note(paths) == ""
    straight = plans.route_paths(PLAN, PLACES, LegPaths(StraightLine()).path)
    assert "roads are not built" in plans.roads_note(straight).lower()
    lines = [c for c in plans.route_layers(PLAN, PLACES, (), straight) if type(c).__name__ == "Polyline"]
    assert lines[0].positions == [[43.7394, 7.4276], [43.7347, 7.4214]]


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


def test_the_page_opens_on_the_first_day_with_open_orders():
    """Tests that the plan page opens on today when today has open orders (the demo day), else the next such day, else tomorrow."""
    now = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    assert plans.default_day(now, [date(2025, 3, 3), date(2025, 3, 5)]) == date(2025, 3, 3)
    assert plans.default_day(now, [date(2025, 3, 1), date(2025, 3, 5)]) == date(2025, 3, 5)
    assert plans.default_day(now, []) == date(2025, 3, 4)


SHIFTED = {
    **PLAN,
    "routes": [
        {**PLAN["routes"][0], "shift_start": "2025-03-04T08:00:00", "shift_end": "2025-03-04T12:00:00",
         "start_location": {"lat": 43.7300, "lon": 7.4200}, "end_location": {"lat": 43.7310, "lon": 7.4210}},
        {**PLAN["routes"][1], "shift_start": "2025-03-04T08:00:00", "shift_end": "2025-03-04T12:00:00"},
    ],
}  # fmt: skip


def test_utilisation_is_over_the_shift_when_the_plan_carries_it():
    """Tests that utilisation divides service and travel by the workers' shifts, not by the routes' own spans."""
    # service 80 min + travel 30 min over two 4-hour shifts (480 min) -> 23 %
    assert plans.plan_kpis(SHIFTED)["utilisation"] == "23%"


def test_a_window_broken_by_a_manual_move_counts_as_late():
    """Tests that on-time share drops when a moved visit misses its window."""
    violations = [{"kind": "window", "message": "order 2 starts after its window", "worker_id": 7, "order_id": 2}]
    assert plans.plan_kpis(PLAN, violations)["on_time"] == "67%"
    assert plans.plan_kpis(PLAN, [{"kind": "skill", "order_id": 2}])["on_time"] == "100%"


def test_route_runs_from_the_worker_start_to_their_end_and_marks_broken_stops():
    """Tests that a route line starts at the worker's start point, ends at their end point, and a violated stop is ringed red."""
    violations = [{"kind": "window", "message": "late", "worker_id": 7, "order_id": 2}]
    layers = plans.route_layers(SHIFTED, PLACES, violations)
    lines = [c for c in layers if type(c).__name__ == "Polyline"]
    assert lines[0].positions[0] == [43.7300, 7.4200] and lines[0].positions[-1] == [43.7310, 7.4210]
    assert len(lines[0].positions) == 4
    bases = [c for c in layers if type(c).__name__ == "CircleMarker"]
    assert [b.center for b in bases] == [[43.7300, 7.4200]]
    markers = [c for c in layers if type(c).__name__ == "DivMarker"]
    flagged = [m for m in markers if "plan-stop-violated" in m.iconOptions["className"]]
    assert len(flagged) == 1 and "breaks: window" in str(flagged[0].children.children)
    bars = plans.gantt_segments(SHIFTED, violations)
    assert [s["label"] for s in bars if s.get("violated")] == ["order 2 · breaks window"]


def test_violations_list_names_each_rule_or_says_all_are_kept():
    """Tests that the rules panel lists each broken rule with its message, or says the plan keeps them all."""
    text = str(
        plans.violations_list([{"kind": "window", "message": "order 2 arrives 10:40 after its window ends 10:00"}])
    )
    assert "window" in text and "after its window ends 10:00" in text
    assert "keeps every rule" in str(plans.violations_list([]))


def test_compare_panel_lists_moves_and_who_gains_or_loses():
    """Tests that the comparison with the published plan names moved visits and each worker's gain or loss."""
    diff = {
        "summary": "1 visit moves",
        "moved": [{"order_id": 2, "from_worker_id": 7, "from_name": "Ana", "to_worker_id": 8, "to_name": "Bo",
                   "previous_start": "2025-03-04T09:40:00", "start": "2025-03-04T10:10:00"}],
        "retimed": [], "added": [], "dropped": [{"order_id": 5, "reason": "no qualified worker"}],
        "workers": [{"worker_id": 7, "name": "Ana", "gained": [], "lost": [2], "delta": -1},
                    {"worker_id": 8, "name": "Bo", "gained": [2], "lost": [], "delta": 1}],
    }  # fmt: skip
    text = str(plans.compare_panel(diff, published_id=3, is_published=False))
    assert "published plan 3" in text and "Order 2: Ana → Bo, 09:40 → 10:10" in text
    assert "Ana: -1 visit" in text and "Bo: +1 visit" in text and "Order 5 dropped (no qualified worker)" in text
    assert "Nothing is published" in str(plans.compare_panel(None, published_id=None, is_published=False))
    assert "the day's published plan" in str(plans.compare_panel(None, published_id=None, is_published=True))


def test_plan_picker_shows_the_published_plan_first_choice():
    """Tests that the picker labels each plan with its state and origin and picks the published one by default."""
    summaries = [
        {"id": 9, "status": "done", "published": False, "created_at": "2025-03-04T07:10:00", "planned": 3,
         "unplanned": 1, "edited_from": 8, "replan_of": None},
        {"id": 8, "status": "done", "published": True, "created_at": "2025-03-04T07:00:00", "planned": 3,
         "unplanned": 1, "edited_from": None, "replan_of": None},
    ]  # fmt: skip
    labels = [o["label"] for o in plans.plan_options(summaries)]
    assert labels[0] == "Plan 9 · done · 07:10 · 3 planned, 1 unplanned · edit of 8"
    assert "PUBLISHED" in labels[1]
    assert plans.default_plan(summaries) == 8
    assert plans.default_plan(summaries[:1]) == 9 and plans.default_plan([]) is None


def test_move_choices_offer_every_order_and_worker_of_the_plan():
    """Tests that "move a visit" offers each planned and unplanned order and each worker of the plan."""
    orders, workers = plans.move_choices(PLAN, PLACES)
    assert [o["value"] for o in orders] == [1, 2, 3, 4]
    assert orders[0]["label"] == "Order 1 · Casino · Ana 09:00"
    assert workers == [{"label": "Ana", "value": 7}, {"label": "Bo", "value": 8}]
    assert plans.badge({"published": True, "status": "done"})[0] == "Published"
    assert plans.badge({"published": False, "status": "running"})[0] == "Running"
    assert plans.badge({"published": False, "status": "done"})[0] == "Draft"


def test_publish_message_counts_what_was_sent_and_what_already_stood():
    """Tests that the publish message tells new assignments from visits already with their worker and orders kept."""
    result = {"assigned": [{"order_id": 1, "worker_id": 7}], "kept": [{"order_id": 3, "reason": "on site"}]}
    assert plans.publish_message(4, result, planned=5) == (
        "Plan 4 published: 1 assignment sent, 3 already with their worker, 1 kept as they are (under way or finished)."
    )
    assert plans.publish_message(4, {"assigned": [], "kept": []}, planned=0) == "Plan 4 published: 0 assignments sent."

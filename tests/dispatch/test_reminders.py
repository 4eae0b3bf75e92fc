"""Reminder rules: shift start without clock-in, near a site without check-in, a visit past its end, the day's
report at shift end; each once, none off shift or when switched off."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from dispatch.geo import LatLon
from dispatch.reminders import OrderFacts, ReminderKind, ReminderSettings, WorkerDay, due_reminders

DAY = date(2026, 3, 2)
CASINO = LatLon(43.7394, 7.4276)


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, 2, hh, mm, tzinfo=UTC)


def order(status: str = "accepted", checked_in_at: datetime | None = None) -> OrderFacts:
    return OrderFacts(1, "Casino de Monte-Carlo", CASINO, 60.0, status, checked_in_at, 45 * 60.0)


BASE = WorkerDay(worker_id=7, day=DAY, shift=(at(8), at(16)), clocked_in=True, day_report_filed=False)


def kinds(worker: WorkerDay, now: datetime) -> list[ReminderKind]:
    return [r.kind for r in due_reminders(worker, now)]


def test_the_shift_began_without_a_clock_in_after_five_minutes_and_only_where_clock_in_is_used() -> None:
    """Tests 08:04 nothing, 08:05 clock_in (with the shift's start), none when clocked in or clock-in is off."""
    worker = replace(BASE, clocked_in=False)
    assert kinds(worker, at(8, 4)) == []
    (reminder,) = due_reminders(worker, at(8, 5))
    assert (reminder.kind, reminder.text) == (ReminderKind.CLOCK_IN, "Your shift began at 08:00: clock in?")
    assert kinds(replace(worker, uses_clock_in=False), at(9)) == []


def test_a_reminder_names_its_times_on_the_workers_clock() -> None:
    """Tests that for a Monaco worker whose shift began at 07:00 UTC (08:00 in Monaco in winter) the reminder says
    08:00, not the UTC clock's 07:00, and keeps its template and parts for a phone in another language."""
    from zoneinfo import ZoneInfo

    worker = replace(BASE, clocked_in=False, shift=(at(7), at(15)), zone=ZoneInfo("Europe/Monaco"))
    (reminder,) = due_reminders(worker, at(7, 5))
    assert reminder.text == "Your shift began at 08:00: clock in?"
    assert (reminder.template, reminder.parts) == ("Your shift began at {time}: clock in?", (("time", "08:00"),))


def test_near_an_accepted_orders_site_without_a_check_in_says_where() -> None:
    """Tests a fresh fix 100 m from the site (within 150 m) of an accepted order: "you are at …, check in?";
    not for a fix 400 m away, a fix 6 min old, an order already checked in, or one not accepted."""
    near = LatLon(CASINO.lat + 100 / 111_320, CASINO.lon)
    worker = replace(BASE, orders=(order(),), last_fix=(near, at(10)))
    (reminder,) = due_reminders(worker, at(10, 1))
    assert (reminder.kind, reminder.text, reminder.order_id) == (
        ReminderKind.NEAR_SITE, "You are at Casino de Monte-Carlo, check in?", 1,
    )  # fmt: skip
    far = LatLon(CASINO.lat + 400 / 111_320, CASINO.lon)
    assert kinds(replace(worker, last_fix=(far, at(10))), at(10, 1)) == []
    assert kinds(worker, at(10, 6)) == []  # the fix is 6 min old
    assert kinds(replace(worker, orders=(order("assigned"),)), at(10, 1)) == []
    assert kinds(replace(worker, orders=(order("on_site", at(10)),)), at(10, 1)) == []
    inside = replace(worker, last_fix=(LatLon(CASINO.lat + 55 / 111_320, CASINO.lon), at(10)))
    assert [r.kind for r in due_reminders(inside, at(10, 1), ReminderSettings(near_m=20))] == [ReminderKind.NEAR_SITE]
    assert due_reminders(worker, at(10, 1), ReminderSettings(near_m=20)) == []  # 100 m: outside the 60 m fence


def test_a_visit_past_its_planned_end_by_ten_minutes() -> None:
    """Tests checked in 10:00 for 45 min: nothing at 10:54, visit_overrun at 10:55 naming 10:45."""
    worker = replace(BASE, orders=(order("on_site", at(10)),))
    assert kinds(worker, at(10, 54)) == []
    (reminder,) = due_reminders(worker, at(10, 55))
    assert reminder.text == "The visit at Casino de Monte-Carlo was planned to end at 10:45: check out when done."


def test_the_days_report_at_shift_end_unless_filed() -> None:
    """Tests 15:44 nothing, 15:45 day_report, none once filed."""
    assert kinds(BASE, at(15, 44)) == []
    assert kinds(BASE, at(15, 45)) == [ReminderKind.DAY_REPORT]
    assert kinds(replace(BASE, day_report_filed=True), at(15, 50)) == []


def test_each_reminder_once_quiet_off_shift_and_switchable() -> None:
    """Tests a sent key is not due again; nothing before the shift, 15 min after its end, without a shift, or
    with reminders switched off."""
    worker = replace(BASE, clocked_in=False)
    (first,) = due_reminders(worker, at(9))
    assert due_reminders(replace(worker, sent=frozenset({first.key})), at(9, 30)) == []
    assert kinds(worker, at(7, 59)) == []
    assert kinds(worker, at(16, 16)) == []
    assert kinds(replace(worker, shift=None), at(9)) == []
    assert kinds(replace(worker, enabled=False), at(9)) == []
    assert first.key == "clock_in:7:2026-03-02:"


def test_it_is_time_to_leave_for_the_next_visit_when_the_drive_would_bring_the_worker_five_minutes_early() -> None:
    """Tests that a worker 2 km away (a 12-min drive) from an accepted visit whose window opens at 10:00 is told at
    09:43 to leave (12 min away, opens at 10:00), not at 09:42; once (the key); not when already at the site, nor
    for a drive not known, nor with a stale fix."""
    away = LatLon(CASINO.lat + 2000 / 111_320, CASINO.lon)
    visit = replace(order(), window_start=at(10), travel_s=12 * 60.0)
    worker = replace(BASE, orders=(visit,), last_fix=(away, at(9, 40)))
    assert kinds(worker, at(9, 42)) == []
    (reminder,) = due_reminders(worker, at(9, 43))
    assert (reminder.kind, reminder.text, reminder.order_id) == (
        ReminderKind.LEAVE_NOW, "Time to leave for Casino de Monte-Carlo: 12 min away, its window opens at 10:00.", 1,
    )  # fmt: skip
    assert kinds(replace(worker, sent=frozenset({reminder.key})), at(9, 50)) == []
    assert kinds(replace(worker, last_fix=(CASINO, at(9, 40))), at(9, 43)) == [ReminderKind.NEAR_SITE]
    assert kinds(replace(worker, orders=(replace(visit, travel_s=None),)), at(9, 50)) == []
    assert kinds(replace(worker, last_fix=(away, at(9, 30))), at(9, 50)) == []


def test_the_time_to_leave_is_for_the_earliest_accepted_visit_and_not_while_one_is_under_way() -> None:
    """Tests that of two accepted visits the one whose window opens first is the one to leave for, that none is
    while a visit is en route or on site (the worker is on the way or at work), that an order not accepted yet is
    not waited for, and that with a published route its first visit is the one, whatever the windows."""
    away = LatLon(CASINO.lat + 2000 / 111_320, CASINO.lon)
    later = replace(order(), order_id=2, window_start=at(11), travel_s=10 * 60.0)
    first = replace(order(), order_id=3, window_start=at(10), travel_s=10 * 60.0)
    worker = replace(BASE, orders=(later, first), last_fix=(away, at(9, 44)))
    assert [(r.kind, r.order_id) for r in due_reminders(worker, at(9, 45))] == [(ReminderKind.LEAVE_NOW, 3)]
    for busy in ("en_route", "on_site"):
        held = replace(order(busy, checked_in_at=at(9) if busy == "on_site" else None), order_id=4, window_start=at(9))
        assert ReminderKind.LEAVE_NOW not in kinds(replace(worker, orders=(later, first, held)), at(9, 45))
    assert kinds(replace(worker, orders=(replace(first, status="assigned"),)), at(9, 55)) == []
    # The published route takes the 11:00 visit first: that is the one to leave for (at 10:45, not before).
    routed = replace(worker, orders=(replace(later, sequence=0), replace(first, sequence=1)))
    assert kinds(replace(routed, last_fix=(away, at(10, 40))), at(10, 44)) == []
    assert [(r.kind, r.order_id) for r in due_reminders(replace(routed, last_fix=(away, at(10, 40))), at(10, 45))] == [
        (ReminderKind.LEAVE_NOW, 2)
    ]

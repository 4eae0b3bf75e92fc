"""Attendance use cases (issue #14): clock-in/out, late entries and their approval, day reports, timesheets.

The field side arrives through the push link's offline action queue (`FieldService.sync` hands the actions
named in `ACTIONS` here): each is applied once by its client id (kept in `field_actions` like every field
action) with the phone's time. The office side is the managers': the late-entry queue, day reports per team,
timesheets and their approval. Rules are pure (`dispatch.attendance`, `dispatch.hours`); this module reads
stored values, asks them, stores, audits and emits the webhook events in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from data import (
    attendance_repo,
    audit_repo,
    field_repo,
    orders_repo,
    positions_repo,
    reminders_repo,
    sites_repo,
    webhooks_repo,
    workers_repo,
)
from data.db import session_scope
from dispatch.access import Actor
from dispatch.attendance import (
    MAX_LATE_ENTRY_AGE,
    ClockPolicy,
    DoneOrder,
    Problem,
    clock_place,
    day_report_problem,
    late_entry_problem,
    prefilled_report,
)
from dispatch.checkin import verify_checkin
from dispatch.clock import Clock
from dispatch.errors import MAX_ID, deny
from dispatch.fields import FieldError, outside_calendar, phone_fix, refuse_unknown
from dispatch.geo import LatLon
from dispatch.geofences import GeofenceIndex
from dispatch.hours import DayHours, DayRecord, HoursSettings, Visit, day_hours, planned_intervals
from dispatch.lifecycle import Transitioned, transition
from dispatch.localtime import day_bounds, day_zone, local_day, spans_day
from dispatch.orders import OrderStatus, WorkOrder
from dispatch.positions import Position
from dispatch.trajectory import filter_fixes, stops_and_trips, track_distance_m
from dispatch.webhooks import EventType
from dispatch.workers import Worker
from realtime.web_push import vapid_keys
from services.links import LinkClaims

ACTIONS = ("clock_in", "clock_out", "late_entry", "day_report")
"""Field actions handled here rather than by an order's lifecycle."""
TRACK_AROUND = timedelta(minutes=30)
"""How much of the worker's track the late-entry queue shows either side of the entry's time."""
MAX_TIMESHEET_DAYS = 62
MAX_NOTE_CHARS = 1000
PHONE_LANGUAGES = ("en", "zh_CN")
"""The languages a field page can be in (console.i18n.LANGUAGES): its notifications are written in it."""

Visible = Callable[[int], bool]
"""Whether the caller sees a worker (`dispatch.access.Visibility.worker`): the office's side shows and decides only
the workers of the caller's team scope; another team's item is not found, as one that does not exist."""


def _everyone(_worker_id: int) -> bool:
    return True


class AttendanceInputError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.field}: {problem.reason}")
        self.field = problem.field


class AttendanceService:
    def __init__(
        self, *, sessions: sessionmaker[Session], clock: Clock, policy: ClockPolicy = ClockPolicy.OPTIONAL,
        hours: HoursSettings | None = None, zone: tzinfo = UTC,
    ) -> None:  # fmt: skip
        """`zone` is the office's: a worker's day (clock events, day report, timesheet row) is their local calendar
        day, in their own zone where they have one, else in `zone`."""
        self._sessions = sessions
        self._zone = zone
        self._clock = clock
        self._policy = policy
        self._hours = hours or HoursSettings()
        self.actions = ACTIONS

    # --- the worker's side (push link) --------------------------------------------------------

    def field_state(self, claims: LinkClaims) -> dict[str, Any]:
        """What the page shows: the clock policy and today's clock events, late entries, the day's report
        (filed, or prefilled from the day's visits)."""
        with session_scope(self._sessions) as session:
            start, end = day_bounds(claims.day, self._zone_of(session, claims.worker_id))
            clocks = attendance_repo.clock_events(session, worker_id=claims.worker_id, start=start, end=end)
            entries = [
                e for e in attendance_repo.late_entries(session, worker_id=claims.worker_id)
                if e.recorded_at >= start - timedelta(days=7)
            ]  # fmt: skip
            filed = attendance_repo.day_reports(session, start=claims.day, end=claims.day, worker_id=claims.worker_id)
            prefill = None if filed else self._prefill(session, claims.worker_id, claims.day)
            reminders = reminders_repo.reminders_of(session, worker_id=claims.worker_id, since=start)
            reminders_on = reminders_repo.enabled(session, claims.worker_id)
        return {
            "clock_in": self._policy.value,
            "clock_events": [_clock_json(c) for c in clocks],
            "clocked_in": bool(clocks) and clocks[-1].kind == "in",
            "late_entries": [late_entry_json(e) for e in entries],
            "day_report": day_report_json(filed[0]) if filed else None,
            "day_report_prefill": prefill,
            "reminders_enabled": reminders_on,
            "reminders": [
                {"id": r.id, "kind": r.kind, "text": r.text, "order_id": r.order_id, "at": r.at.isoformat()}
                for r in reminders
            ],  # fmt: skip
        }

    def set_reminders(self, claims: LinkClaims, body: dict[str, Any]) -> dict[str, Any]:
        """The worker's reminder switch (on by default)."""
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            deny(400, "enabled: true or false", "enabled")
        with session_scope(self._sessions) as session:
            reminders_repo.set_enabled(session, claims.worker_id, enabled)
        return {"reminders_enabled": enabled}

    def push_key(self) -> dict[str, Any]:
        """The server's VAPID public key (made once) for the page's push subscription."""
        return {"public_key": vapid_keys(self._sessions, self._clock)[1]}

    def subscribe(self, claims: LinkClaims, body: dict[str, Any]) -> bool:
        """Keep the phone's Web Push subscription ({endpoint, keys: {p256dh, auth}}, and the page's `language`, which
        its notifications are written in); True when new."""
        endpoint, keys = body.get("endpoint"), body.get("keys")
        if not isinstance(endpoint, str) or not endpoint.startswith("https://") or len(endpoint) > 2000:
            deny(400, "endpoint: the push service's https URL (at most 2000 characters)", "endpoint")
        if not isinstance(keys, dict) or not all(isinstance(keys.get(k), str) and 0 < len(keys[k]) <= 200
                                                 for k in ("p256dh", "auth")):  # fmt: skip
            deny(400, "keys: {p256dh, auth} as the browser's PushSubscription gives them", "keys")
        language = body.get("language", "en")
        if language not in PHONE_LANGUAGES:
            deny(400, f"language: one of {', '.join(PHONE_LANGUAGES)} (the page's language, for its notifications)",
                 "language")  # fmt: skip
        subscription = {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]},
                        "language": language}  # fmt: skip
        with session_scope(self._sessions) as session:
            return reminders_repo.add_subscription(
                session, worker_id=claims.worker_id, subscription=subscription, at=self._clock.now()
            )

    def apply(self, claims: LinkClaims, item: dict[str, Any], known: set[str]) -> dict[str, Any]:
        """Apply one queued attendance action once (`known`: client ids applied before); its result."""
        cid = item.get("client_action_id")
        if not isinstance(cid, str) or not cid.strip() or len(cid) > 100:
            return {"client_action_id": cid, "status": "invalid", "field": "client_action_id",
                    "error": "client_action_id: missing or longer than 100 characters"}  # fmt: skip
        if cid in known:
            return {"client_action_id": cid, "status": "duplicate"}
        kind = str(item.get("action"))
        now = self._clock.now()
        try:
            at = _aware(item.get("at"), "at")
            with session_scope(self._sessions) as session:
                if kind in ("clock_in", "clock_out"):
                    outcome = self._clock_event(session, claims, cid, kind, at, item, now)
                elif kind == "late_entry":
                    outcome = self._late_entry(session, claims, cid, at, item, now)
                else:
                    outcome = self._day_report(session, claims, cid, at, item, now)
                field_repo.record_action(
                    session, client_action_id=cid, worker_id=claims.worker_id, order_id=outcome.pop("_order_id", None),
                    action=kind, event_time=at, server_time=now, outcome=outcome["status"], reason="",
                    payload={k: v for k, v in item.items() if k not in ("report", "day_report")},
                )  # fmt: skip
        except AttendanceInputError as exc:
            return {"client_action_id": cid, "status": "invalid", "error": str(exc), "field": exc.field}
        return {"client_action_id": cid, **outcome}

    def _clock_event(
        self, session: Session, claims: LinkClaims, cid: str, kind: str, at: datetime, item: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any]:  # fmt: skip
        if self._policy is ClockPolicy.OFF:
            raise AttendanceInputError(Problem("action", "clock-in/out is switched off for this organisation"))
        if at > now + timedelta(minutes=10):
            raise AttendanceInputError(Problem("at", "more than 10 minutes ahead of the server's clock"))
        if now - at > MAX_LATE_ENTRY_AGE:
            raise AttendanceInputError(Problem("at", f"more than {MAX_LATE_ENTRY_AGE.days} days ago"))
        location, accuracy_m, fix_time = _location(item.get("location"))
        worker = workers_repo.get_worker(session, claims.worker_id)
        place = clock_place(worker.home_base if worker else None, self._first_site(session, claims))
        if place is None:
            verdict, reason = "not_checked", "no home base and no site today to check against"
        else:
            fix = None
            if location is not None:
                fix = Position(worker_id=claims.worker_id, device_id="push-link", fix_time=fix_time or at,
                               device_time=at, server_time=now, latitude=location.lat, longitude=location.lon,
                               accuracy_m=accuracy_m)  # fmt: skip
            checked = verify_checkin(place, fix, at=at)
            verdict, reason = checked.kind.value, checked.reason
        event = attendance_repo.add_clock_event(
            session, client_action_id=cid, worker_id=claims.worker_id, kind="in" if kind == "clock_in" else "out",
            at=at, location=location, accuracy_m=accuracy_m, verdict=verdict, verdict_reason=reason, created_at=now,
        )  # fmt: skip
        return {"status": "applied", "verdict": event.verdict, "verdict_reason": event.verdict_reason}

    def check_in_refusal(self, session: Session, worker_id: int, at: datetime) -> str | None:
        """Why a check-in at `at` is refused under `required` clock-in (not clocked in then); None: allowed."""
        if self._policy is not ClockPolicy.REQUIRED:
            return None
        tz = self._zone_of(session, worker_id)
        start, _end = day_bounds(local_day(at, tz), tz)
        clocks = attendance_repo.clock_events(session, worker_id=worker_id, start=start, end=at + timedelta(seconds=1))
        if clocks and clocks[-1].kind == "in":
            return None
        return "clock in first: your organisation counts the shift from the clock-in"

    def _first_site(self, session: Session, claims: LinkClaims) -> Any:
        tz = self._zone_of(session, claims.worker_id)
        orders = [o for o in orders_repo.orders_of_worker(session, worker_id=claims.worker_id)
                  if spans_day(o.window.start, o.window.end, claims.day, tz)]  # fmt: skip
        if not orders:
            return None
        first = min(orders, key=lambda o: (o.window.start, o.id))
        return sites_repo.get_site(session, first.site_id)

    def _late_entry(
        self, session: Session, claims: LinkClaims, cid: str, at: datetime, item: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        kind, reason, order_id = item.get("kind"), item.get("reason"), item.get("order_id")
        if not isinstance(kind, str):
            raise AttendanceInputError(Problem("kind", "missing: in (a missed check-in) or out (a missed check-out)"))
        if not isinstance(reason, str):
            raise AttendanceInputError(Problem("reason", "required: say why it was missed"))
        if isinstance(order_id, bool) or not isinstance(order_id, int) or not 1 <= order_id <= MAX_ID:
            raise AttendanceInputError(Problem("order_id", f"missing or not an order id (1..{MAX_ID})"))
        problem = late_entry_problem(kind=kind, at=at, reason=reason, now=now)
        if problem is not None:
            raise AttendanceInputError(problem)
        order = orders_repo.get_order(session, order_id)
        if order is None or order.assigned_worker_id != claims.worker_id:
            raise AttendanceInputError(Problem("order_id", f"order {order_id} is not assigned to you"))
        entry = attendance_repo.add_late_entry(
            session, client_action_id=cid, worker_id=claims.worker_id, order_id=order_id, kind=kind, at=at,
            reason=reason.strip(), recorded_at=now,
        )  # fmt: skip
        moved = self._move_order(session, claims, order, kind, at)
        webhooks_repo.emit(session, EventType.LATE_ENTRY, _late_entry_event(entry), at=now)
        outcome: dict[str, Any] = {"status": "applied", "late_entry_id": entry.id, "_order_id": order_id}
        if moved is not None:
            outcome["order_status"] = moved.status.value
        return outcome

    def _move_order(
        self, session: Session, claims: LinkClaims, order: WorkOrder, kind: str, at: datetime
    ) -> WorkOrder | None:
        """Bring the order to where the missed step would have (on site / done) at the real time, so the day goes
        on; the history marks the move as a late entry. None when the order is past that step already."""
        to = OrderStatus.ON_SITE if kind == "in" else OrderStatus.DONE
        actor = field_repo.actor_for_worker(session, worker_id=claims.worker_id)
        busy = orders_repo.orders_of_worker(session, worker_id=claims.worker_id) if kind == "in" else []
        moved = transition(order, to, actor=actor, at=at, reason="late entry", worker_orders=busy)
        if not isinstance(moved, Transitioned):
            return None
        try:
            return orders_repo.save_change(session, replace(moved.change, source="late_entry"))
        except ValueError:  # moved by someone else meanwhile (checked before anything is written): leave it
            return None

    def _day_report(
        self, session: Session, claims: LinkClaims, cid: str, at: datetime, item: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        body = item.get("day_report")
        if not isinstance(body, dict):
            raise AttendanceInputError(Problem("day_report", "expected {done, problems, km, notes}"))
        try:  # a misspelt key would otherwise be dropped, and what the worker wrote with it
            refuse_unknown(body, ("done", "problems", "notes", "km"))
        except FieldError as exc:
            raise AttendanceInputError(Problem(f"day_report.{exc.field}", exc.reason)) from None
        texts = {}
        for name in ("done", "problems", "notes"):
            value = body.get(name, "")
            if not isinstance(value, str):
                raise AttendanceInputError(Problem(name, "expected text"))
            texts[name] = value.strip()
        km = body.get("km")
        if km is not None and (isinstance(km, bool) or not isinstance(km, int | float)):
            raise AttendanceInputError(Problem("km", "expected a number of kilometres or null"))
        problem = day_report_problem(**texts, km=None if km is None else float(km), day=claims.day,
                                     today=local_day(now, self._zone_of(session, claims.worker_id)))  # fmt: skip
        if problem is not None:
            raise AttendanceInputError(problem)
        prefill = self._prefill(session, claims.worker_id, claims.day)
        report = attendance_repo.save_day_report(
            session, client_action_id=cid, worker_id=claims.worker_id, day=claims.day, km=None if km is None else float(km),
            order_ids=list(prefill["order_ids"]), written_at=at, created_at=now, **texts,
        )  # fmt: skip
        return {"status": "applied", "day_report_id": report.id}

    def _prefill(self, session: Session, worker_id: int, day: date) -> dict[str, Any]:
        tz = self._zone_of(session, worker_id)
        start, end = day_bounds(day, tz)
        sites = {s.id: s.name for s in sites_repo.list_sites(session)}
        orders = [
            DoneOrder(o.id, sites.get(o.site_id, f"site {o.site_id}"), o.status.value)
            for o in sorted(orders_repo.orders_of_worker(session, worker_id=worker_id), key=lambda o: o.window.start)
            if spans_day(o.window.start, o.window.end, day, tz)
        ]  # fmt: skip
        fixes = filter_fixes(positions_repo.positions_between(session, worker_id=worker_id, start=start, end=end)).kept
        return prefilled_report(orders, track_distance_m(fixes, jitter_m=20.0) / 1000.0 if fixes else None)

    # --- the office's side ---------------------------------------------------------------------

    def late_entries(self, *, status: str, visible: Visible = _everyone) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            entries = attendance_repo.late_entries(session, status=None if status == "all" else status)
        return [late_entry_json(e) for e in entries if visible(e.worker_id)]

    def late_entry(self, *, actor: Actor, entry_id: int, visible: Visible = _everyone) -> dict[str, Any]:
        """One late entry with the site and the worker's track around its time (audited: positions are personal)."""
        with session_scope(self._sessions) as session:
            entry = attendance_repo.get_late_entry(session, entry_id)
            if entry is None or not visible(entry.worker_id):
                deny(404, f"no late entry with id {entry_id}")
            track = positions_repo.positions_between(
                session, worker_id=entry.worker_id, start=entry.at - TRACK_AROUND, end=entry.at + TRACK_AROUND
            )
            audit_repo.record(
                session, actor_id=actor.id, action="view-late-entry", subject_type="late_entry", subject_id=entry_id,
                at=self._clock.now(),
            )  # fmt: skip
        return {
            **late_entry_json(entry),
            "site": {"name": entry.site_name, "lat": entry.site.lat, "lon": entry.site.lon,
                     "radius_m": entry.site_radius_m},
            "track": [{"lat": p.latitude, "lon": p.longitude, "at": p.fix_time.isoformat()} for p in track if p.valid],
        }  # fmt: skip

    def decide(
        self, *, actor: Actor, entry_id: int, body: dict[str, Any], visible: Visible = _everyone
    ) -> dict[str, Any]:
        refuse_unknown(body, ("decision", "note"))
        decision, note = body.get("decision"), body.get("note", "")
        if decision not in ("approve", "reject"):
            deny(400, "decision: approve or reject", "decision")
        if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
            deny(400, f"note: text of at most {MAX_NOTE_CHARS} characters", "note")
        if decision == "reject" and not note.strip():
            deny(400, "note: required to reject (the worker is told why)", "note")
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            found = attendance_repo.get_late_entry(session, entry_id)
            if found is None or not visible(found.worker_id):
                deny(404, f"no late entry with id {entry_id}")
            if not attendance_repo.decide_late_entry(
                session, entry_id, approve=decision == "approve", by=actor.id, at=now, note=note.strip()
            ):
                deny(409, f"late entry {entry_id} was decided already")
            entry = attendance_repo.get_late_entry(session, entry_id)
            assert entry is not None
            audit_repo.record(
                session, actor_id=actor.id, action=f"{decision}-late-entry", subject_type="late_entry",
                subject_id=entry_id, at=now, details={"note": note.strip()},
            )  # fmt: skip
            webhooks_repo.emit(session, EventType.LATE_ENTRY_DECIDED, _late_entry_event(entry), at=now)
        return late_entry_json(entry)

    def day_reports(
        self, *, start: date, end: date, team: str | None, visible: Visible = _everyone
    ) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            reports = attendance_repo.day_reports(session, start=start, end=end, team=team)
        return [day_report_json(r) for r in reports if visible(r.worker_id)]

    def timesheets(
        self, *, start: date, end: date, worker_id: int | None = None, team: str | None = None,
        visible: Visible = _everyone,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """One row per worker and day with something planned or worked, by team, worker and day."""
        if end < start:
            deny(400, "to: before from", "to")
        if (end - start).days >= MAX_TIMESHEET_DAYS:
            deny(400, f"to: at most {MAX_TIMESHEET_DAYS} days from from", "to")
        rows = []
        with session_scope(self._sessions) as session:
            workers = [w for w in workers_repo.list_workers(session)
                       if (worker_id is None or w.id == worker_id) and (team is None or w.team == team)
                       and visible(w.id)]  # fmt: skip
            if worker_id is not None and not workers:
                deny(404, f"no worker with id {worker_id}", "worker_id")
            approvals = attendance_repo.timesheet_approvals(session, start=start, end=end)
            pending = attendance_repo.late_entries(session, status="pending")
            sites = _site_index(session)
            for worker in sorted(workers, key=lambda w: (w.team, w.name, w.id)):
                tz = day_zone(worker.zone, self._zone)
                today = local_day(self._clock.now(), tz)
                leaves = workers_repo.leaves_of(session, worker.id)
                # The period's clock events and counted checks, read once for all its days (three statements a day
                # were a fifth of a week's timesheets, bench/README.md "Timesheets"), unless every day is approved.
                recorded: _Recorded | None = None
                if any((worker.id, start + timedelta(days=n)) not in approvals for n in range((end - start).days + 1)):
                    recorded = _Recorded.read(session, worker.id, day_bounds(start, tz)[0], day_bounds(end, tz)[1])
                day = start
                while day <= end:
                    waiting = sum(1 for e in pending if e.worker_id == worker.id and local_day(e.at, tz) == day)
                    approval = approvals.get((worker.id, day))
                    if approval is not None:  # an approved day keeps the figures approved
                        by, at, figures = approval
                        rows.append({**figures, "worker": worker.name, "team": worker.team,
                                     "late_entries_pending": waiting, "approved": True, "approved_by": by,
                                     "approved_at": at.isoformat(), "leave": figures.get("leave"),
                                     "day_over": True})  # fmt: skip
                    else:
                        hours, clock_check = self._day_hours(session, worker, day, sites, recorded)
                        if hours.planned_s or hours.started_at is not None:
                            rows.append(timesheet_row(worker, hours, None, waiting, clock_check,
                                                      leave=leave_on(leaves, day), day_over=day < today))  # fmt: skip
                    day += timedelta(days=1)
        return rows

    def _day_hours(
        self, session: Session, worker: Worker, day: date, sites: GeofenceIndex | None,
        recorded: _Recorded | None = None,
    ) -> tuple[DayHours, str]:  # fmt: skip
        """The day's figures, and what was doubtful about its clock events ("" when nothing); `recorded`: the
        worker's clock events and checks over a period holding the day, else the day's are read. A stop in the geofence
        (`sites`) of one of the day's visits, waiting there before or after it, is time on duty, never a break."""
        start, end = day_bounds(day, day_zone(worker.zone, self._zone))
        recorded = recorded or _Recorded.read(session, worker.id, start, end)
        clocks, checks = recorded.between(start, end)
        visits: dict[int, Visit] = {}
        for c in checks:  # the first check-in and the last check-out of each order
            v = visits.get(c.order_id, Visit(c.order_id, None, None))
            if c.kind == "in" and v.check_in is None:
                v = replace(v, check_in=c.at)
            elif c.kind == "out":
                v = replace(v, check_out=c.at)
            visits[c.order_id] = v
        # The track only matters for a day something was worked (its fixes are the costly part).
        worked = bool(clocks) or any(c.kind == "in" for c in checks)
        track = positions_repo.track_between(session, worker_id=worker.id, start=start, end=end) if worked else []
        stops, trips = stops_and_trips(track)
        visit_sites = {recorded.site_of[o] for o in visits if o in recorded.site_of}

        def at_visit(point: LatLon) -> bool:
            return sites is not None and bool(visit_sites) and not visit_sites.isdisjoint(sites.containing(point))

        record = DayRecord(
            day=day, planned=planned_intervals(worker.shifts, day),
            clock_ins=tuple(c.at for c in clocks if c.kind == "in"),
            clock_outs=tuple(c.at for c in clocks if c.kind == "out"),
            visits=tuple(visits.values()),
            trips=tuple((t.start, t.end) for t in trips),
            stops=tuple((s.start, s.end) for s in stops if not at_visit(s.location)),
        )  # fmt: skip
        doubtful = [f"clock-{c.kind}: {c.verdict_reason or c.verdict}" for c in clocks
                    if c.verdict not in ("verified", "not_checked")]  # fmt: skip
        return day_hours(record, self._hours), "; ".join(doubtful)

    def approve_timesheet(self, *, actor: Actor, body: dict[str, Any], visible: Visible = _everyone) -> dict[str, Any]:
        refuse_unknown(body, ("worker_id", "day"))
        worker_id, raw_day = body.get("worker_id"), body.get("day")
        if isinstance(worker_id, bool) or not isinstance(worker_id, int) or not 1 <= worker_id <= MAX_ID:
            deny(400, "worker_id: missing or not a worker id", "worker_id")
        try:
            day = date.fromisoformat(str(raw_day))
        except ValueError:
            deny(400, f"day: {str(raw_day)[:40]!r} is not an ISO date such as 2026-03-02", "day")
        if (why := outside_calendar(day)) is not None:
            deny(400, f"day: {why}", "day")
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            worker = workers_repo.get_worker(session, worker_id)
            if worker is None or not visible(worker_id):
                deny(404, f"no worker with id {worker_id}", "worker_id")
            tz = day_zone(worker.zone, self._zone)
            if day >= local_day(now, tz):
                deny(400, f"day: {day.isoformat()} is not over yet; approve it from tomorrow on", "day")
            waiting = [e for e in attendance_repo.late_entries(session, status="pending", worker_id=worker_id)
                       if local_day(e.at, tz) == day]  # fmt: skip
            if waiting:
                deny(409, f"day: {len(waiting)} late entr{'y' if len(waiting) == 1 else 'ies'} of that day await a "
                          "decision first")  # fmt: skip
            hours, clock_check = self._day_hours(session, worker, day, _site_index(session))
            leave = leave_on(workers_repo.leaves_of(session, worker_id), day)
            row = timesheet_row(worker, hours, None, 0, clock_check, leave=leave)
            figures = {k: v for k, v in row.items() if k not in ("approved", "approved_by", "approved_at")}
            if not attendance_repo.approve_timesheet(session, worker_id=worker_id, day=day, by=actor.id, at=now,
                                                     figures=figures):  # fmt: skip
                deny(409, f"day: {day.isoformat()} of worker {worker_id} was approved already", "day")
            audit_repo.record(
                session, actor_id=actor.id, action="approve-timesheet", subject_type="worker", subject_id=worker_id,
                at=now, details={"day": day.isoformat()},
            )  # fmt: skip
            webhooks_repo.emit(session, EventType.TIMESHEET_APPROVED,
                               {**figures, "approved_by": actor.name, "approved_at": now.isoformat()}, at=now)  # fmt: skip
        return {**row, "approved": True, "approved_by": actor.name, "approved_at": now.isoformat()}

    def _zone_of(self, session: Session, worker_id: int) -> tzinfo:
        """The zone `worker_id`'s days are cut in: their own, else the office's."""
        worker = workers_repo.get_worker(session, worker_id)
        return day_zone(worker.zone if worker is not None else None, self._zone)

    def timesheet_table(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=list(TIMESHEET_COLUMNS))


TIMESHEET_COLUMNS = (
    "worker_id", "worker", "team", "day", "planned_min", "worked_min", "on_site_min", "travel_min", "break_min",
    "overtime_min", "late_start_min", "early_leave_min", "missing_clock_out", "started_at", "ended_at", "visits",
    "late_entries_pending", "clock_check", "approved", "approved_by", "approved_at", "leave", "day_over",
)  # fmt: skip
"""`leave`: the reason of a leave recorded over the day (None: none); `day_over`: the day has ended on the worker's
clock (only such a day can be approved)."""


def leave_on(leaves: Iterable[workers_repo.LeaveEntry], day: date) -> str | None:
    """The reason of the first of `leaves` covering `day` ("leave" when none was given), or None."""
    return next(((e.reason or "leave") for e in leaves if e.start <= day <= e.end), None)


def _site_index(session: Session) -> GeofenceIndex | None:
    """The sites' geofences, read once for a timesheet; None without sites."""
    sites = sites_repo.list_sites(session)
    return GeofenceIndex.of_sites(sites) if sites else None


def timesheet_row(
    worker: Worker,
    hours: DayHours,
    approval: tuple[str, datetime] | None,
    pending: int,
    clock_check: str = "",
    *,
    leave: str | None = None,
    day_over: bool = True,
) -> dict[str, Any]:
    def minutes(seconds: float) -> float:
        return round(seconds / 60.0, 1)

    return {
        "worker_id": worker.id, "worker": worker.name, "team": worker.team, "day": hours.day.isoformat(),
        "planned_min": minutes(hours.planned_s), "worked_min": minutes(hours.worked_s),
        "on_site_min": minutes(hours.on_site_s), "travel_min": minutes(hours.travel_s),
        "break_min": minutes(hours.break_s), "overtime_min": minutes(hours.overtime_s),
        "late_start_min": minutes(hours.late_start_s), "early_leave_min": minutes(hours.early_leave_s),
        "missing_clock_out": hours.missing_clock_out,
        "started_at": hours.started_at.isoformat() if hours.started_at else None,
        "ended_at": hours.ended_at.isoformat() if hours.ended_at else None,
        "visits": hours.visits, "late_entries_pending": pending, "clock_check": clock_check,
        "approved": approval is not None,
        "approved_by": approval[0] if approval else None, "approved_at": approval[1].isoformat() if approval else None,
        "leave": leave, "day_over": day_over,
    }  # fmt: skip


def late_entry_json(e: attendance_repo.LateEntry) -> dict[str, Any]:
    return {
        "id": e.id, "late_entry": True, "worker_id": e.worker_id, "worker": e.worker_name, "order_id": e.order_id,
        "site_name": e.site_name, "kind": e.kind, "at": e.at.isoformat(), "reason": e.reason,
        "recorded_at": e.recorded_at.isoformat(), "status": e.status, "decided_by": e.decided_by,
        "decided_at": e.decided_at.isoformat() if e.decided_at else None, "note": e.note,
    }  # fmt: skip


def _late_entry_event(e: attendance_repo.LateEntry) -> dict[str, Any]:
    """A late entry as its webhook events carry it: no positions (personal data), who decided by name."""
    body = late_entry_json(e)
    return {k: body[k] for k in ("id", "worker_id", "order_id", "kind", "at", "reason", "status", "decided_by", "note")}


def day_report_json(r: attendance_repo.DayReport) -> dict[str, Any]:
    return {
        "id": r.id, "worker_id": r.worker_id, "worker": r.worker_name, "team": r.team, "day": r.day.isoformat(),
        "done": r.done, "problems": r.problems, "km": r.km, "notes": r.notes, "order_ids": list(r.order_ids),
        "written_at": r.written_at.isoformat(),
    }  # fmt: skip


def _clock_json(c: attendance_repo.ClockEvent) -> dict[str, Any]:
    return {"kind": c.kind, "at": c.at.isoformat(), "verdict": c.verdict, "verdict_reason": c.verdict_reason}


def _aware(raw: Any, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise AttendanceInputError(Problem(field, f"{str(raw)[:60]!r} is not an ISO 8601 time")) from None
    if value.tzinfo is None:
        raise AttendanceInputError(Problem(field, "needs a time zone"))
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise AttendanceInputError(Problem(field, f"{str(raw)[:60]!r} is beyond the calendar in UTC")) from None


def _location(raw: Any) -> tuple[LatLon | None, float | None, datetime | None]:
    if raw is None:
        return None, None, None
    try:
        location, accuracy = phone_fix(raw)
    except FieldError as exc:
        raise AttendanceInputError(Problem(exc.field or "location", exc.reason)) from None
    fix_time = _aware(raw["at"], "location.at") if raw.get("at") is not None else None
    return location, accuracy, fix_time


@dataclass(frozen=True, slots=True)
class _Recorded:
    """A worker's clock events and counted checks in [start, end), oldest first: what their days' hours are
    added up from, read once for a period of days."""

    clocks: tuple[attendance_repo.ClockEvent, ...]
    checks: tuple[attendance_repo.CountedCheck, ...]
    site_of: dict[int, int]
    """The site of each order checked."""

    @classmethod
    def read(cls, session: Session, worker_id: int, start: datetime, end: datetime) -> _Recorded:
        checks = tuple(attendance_repo.counted_checks(session, worker_id=worker_id, start=start, end=end))
        return cls(
            tuple(attendance_repo.clock_events(session, worker_id=worker_id, start=start, end=end)),
            checks,
            orders_repo.sites_of(session, order_ids=(c.order_id for c in checks)),
        )

    def between(
        self, start: datetime, end: datetime
    ) -> tuple[list[attendance_repo.ClockEvent], list[attendance_repo.CountedCheck]]:
        """The clock events and checks in [start, end) (a day of the period), in their order."""
        return [c for c in self.clocks if start <= c.at < end], [c for c in self.checks if start <= c.at < end]

"""The field worker's side of a day, reached through a signed push link.

A link proves one worker and one day; every call here is scoped to that worker. Actions arrive
as an offline queue with client-generated ids and the phone's own times: each is applied once
(`dispatch.sync.apply_actions`), through the one lifecycle (`dispatch.lifecycle.transition`), and
recorded with its original time. Check-ins carry the phone's fix and get a verdict
(`dispatch.checkin.verify_checkin`); a suspicious one raises an alert the dispatcher sees live.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session, sessionmaker

from data import (
    alerts_repo,
    attendance_repo,
    audit_repo,
    field_repo,
    forms_repo,
    orders_repo,
    plans_repo,
    positions_repo,
    scope_repo,
    sites_repo,
    workers_repo,
)
from data.db import session_scope
from dispatch.access import Actor, Decision, sees_order
from dispatch.alerts import AlertKind
from dispatch.checkin import CheckinKind, CheckinVerdict, site_fence, verify_checkin
from dispatch.clock import Clock
from dispatch.confidence import CheckinEvidence, ConfidenceWeights, Fix, impossible_jump, needs_review, score_checkin
from dispatch.errors import MAX_ID, AppError, InputError
from dispatch.fields import FieldError, phone_fix, refuse_unknown
from dispatch.forms import Problem, status_on_submit, ticked_checklist
from dispatch.geo import LatLon
from dispatch.lifecycle import LifecycleEvent, Refused, StatusChange, Transitioned, transition
from dispatch.localtime import day_zone, local_day, spans_day
from dispatch.orders import OrderStatus, TimeWindow, WorkOrder
from dispatch.positions import Position
from dispatch.sites import Site
from dispatch.sync import QueuedAction, apply_actions
from realtime.bus import ALERTS, ORDERS, Bus
from realtime.field_events import alert_message
from realtime.ingest import IngestError, decode_json, parse_batch
from realtime.pipeline import PositionPipeline, Stored
from routing.paths import RoutePath
from services import forms_service, geojson
from services.links import LinkClaims, LinkRefused, PushLinks
from services.photo_evidence import read_exif, stamp_lines, watermarked

ACTIONS: dict[str, OrderStatus] = {
    "accept": OrderStatus.ACCEPTED,
    "decline": OrderStatus.DECLINED,
    "en_route": OrderStatus.EN_ROUTE,
    "check_in": OrderStatus.ON_SITE,
    "check_out": OrderStatus.DONE,
    "fail": OrderStatus.FAILED,
}
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
"""Largest photo (width × height) decoded for a thumbnail; checked before decoding, so a small file
declaring 60,000 × 60,000 pixels (an image bomb) is refused without taking gigabytes of memory."""
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIGNATURE_PIXELS = 4_000_000
MAX_ACTIONS = 500
THUMBNAIL_PX = 320
JUMP_LOOKBACK = timedelta(minutes=30)
"""How far back the worker's stored track is searched for an impossible jump before a check-in."""


REPORT_KEYS = frozenset({"text", "checklist", "parts", "signed_by", "signature", "form_id", "form_version", "answers"})
"""What a service report may hold: what the field page sends (`collectReport` in console/field/app.js)."""


BEGUN = frozenset({OrderStatus.EN_ROUTE, OrderStatus.ON_SITE, OrderStatus.DONE, OrderStatus.FAILED})
"""Statuses of a visit the worker has set off for (`day` lists those outside the published plan first)."""


class Attendance(Protocol):
    """The attendance actions' handler (`services.attendance_service`): which actions, and applying one once."""

    actions: tuple[str, ...]

    def apply(self, claims: LinkClaims, item: dict[str, Any], known: set[str]) -> dict[str, Any]: ...

    def check_in_refusal(self, session: Session, worker_id: int, at: datetime) -> str | None: ...


class LinkError(AppError):
    """The link does not open this request: 401/403/410 with a reason, naming `link`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason, "link")


class FieldInputError(InputError):
    """A field of a field-worker request is unusable (400)."""


@dataclass(frozen=True, slots=True)
class IssuedLink:
    worker_id: int
    worker_name: str
    token: str
    url: str
    expires_at: datetime


class FieldService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        bus: Bus,
        links: PushLinks,
        pipeline: PositionPipeline,
        upload_dir: Path,
        public_url: str,
        notify: Callable[[dict[str, Any]], None] | None = None,
        weights: ConfidenceWeights | None = None,
        review_threshold: int = 60,
        attendance: Attendance | None = None,
        path_of: Callable[[Sequence[LatLon]], RoutePath] | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        self._sessions = sessions
        self._zone = zone
        self._clock = clock
        self._bus = bus
        self._links = links
        self._pipeline = pipeline
        self._upload_dir = upload_dir
        self._public_url = public_url.rstrip("/")
        self._notify = notify
        self._weights = weights or ConfidenceWeights()
        self._review_threshold = review_threshold
        self._attendance = attendance
        self._path_of = path_of

    def now(self) -> datetime:
        return self._clock.now()

    def today(self) -> date:
        """The office's local calendar day now (a push link's default day)."""
        return local_day(self._clock.now(), self._zone)

    # --- the dispatcher's side -------------------------------------------------------------

    def issue_link(self, *, actor: Actor, worker_id: int, day: date, send: bool = False) -> IssuedLink:
        """A signed link to `worker_id`'s `day`; with `send`, also handed to the notification hook."""
        with session_scope(self._sessions) as session:
            worker = workers_repo.get_worker(session, worker_id)
            if worker is None:
                raise FieldInputError("worker_id", f"no worker with id {worker_id}")
            if not worker.active:
                raise FieldInputError("worker_id", f"worker {worker_id} is deactivated: reactivate them first")
            token = self._links.issue(worker_id, day)
            audit_repo.record(
                session, actor_id=actor.id, action="issue-push-link", subject_type="worker", subject_id=worker_id,
                at=self._clock.now(), details={"day": day.isoformat(), "sent": send},
            )  # fmt: skip
        link = IssuedLink(
            worker_id, worker.name, token, f"{self._public_url}/field/{token}", self._links.expires_at(day)
        )
        if send:
            if self._notify is None:
                raise FieldInputError("send", "no notification hook is configured (set OUTFIELD_LINK_WEBHOOK)")
            self._notify(
                {
                    "worker_id": worker_id,
                    "name": worker.name,
                    "url": link.url,
                    "expires_at": link.expires_at.isoformat(),
                }
            )
        return link

    def revoke_links(self, *, actor: Actor, worker_id: int) -> int:
        """Every link issued so far for the worker stops working at once."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            try:
                version = field_repo.revoke_links(session, worker_id=worker_id, at=now)
            except ValueError as exc:
                raise FieldInputError("worker_id", str(exc).split(": ", 1)[-1]) from None
            audit_repo.record(
                session,
                actor_id=actor.id,
                action="revoke-push-links",
                subject_type="worker",
                subject_id=worker_id,
                at=now,
            )
        return version

    def field_record(self, *, actor: Actor, order_id: int) -> dict[str, Any]:
        """What the field sent for an order: check-ins with verdicts, photos, the service report."""
        with session_scope(self._sessions) as session:
            order = orders_repo.get_order(session, order_id)
            team = (
                scope_repo.worker_team(session, order.assigned_worker_id)
                if order and order.assigned_worker_id
                else None
            )
            if order is None or not sees_order(actor, team):
                raise FieldInputError("order_id", f"no order with id {order_id}")
            checkins = field_repo.checkin_records(session, order_id=order_id)
            photos = field_repo.photos_of(session, order_id=order_id)
            report = field_repo.report_of(session, order_id=order_id)
            reviews = field_repo.order_events(session, order_id=order_id, types=["checkin_reviewed"])
            late = attendance_repo.late_entries(session, order_id=order_id)
            report_steps = forms_service.report_steps(session, order_id=order_id)
            audit_repo.record(
                session, actor_id=actor.id, action="view-field-record", subject_type="order", subject_id=order_id,
                at=self._clock.now(),
            )  # fmt: skip
        return {
            "order_id": order_id,
            "checkins": [checkin_json(c) for c in checkins],
            "photos": [_photo_links(p) for p in photos],
            "report": report,
            "report_steps": report_steps,  # submitted → returned (note) → resubmitted → approved, who and when
            # Missed check-ins/outs entered afterwards: marked as such, counting only once approved.
            "late_entries": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "at": e.at.isoformat(),
                    "reason": e.reason,
                    "status": e.status,
                    "decided_by": e.decided_by,
                    "note": e.note,
                }
                for e in late
            ],  # fmt: skip
            # The order's history of review decisions: who decided what about which check-in, when, why.
            "reviews": [
                {
                    "checkin_id": d.get("checkin_id"),
                    "decision": d.get("decision"),
                    "note": d.get("note", ""),
                    "by": d.get("by"),
                    "at": at.isoformat(),
                }
                for _type, at, d in reviews
            ],  # fmt: skip
        }

    def photo_file(self, photo_id: int, size: str) -> tuple[str, str] | None:
        """(path, mimetype) of a stored photo or its thumbnail."""
        with session_scope(self._sessions) as session:
            photo = field_repo.get_photo(session, photo_id)
        if photo is None:
            return None
        if size == "watermarked":
            return (photo.watermarked_path, "image/jpeg") if photo.watermarked_path else None
        return (photo.thumbnail_path, "image/jpeg") if size == "thumbnail" else (photo.path, photo.content_type)

    # --- the worker's side -----------------------------------------------------------------

    def open(self, token: str) -> LinkClaims:
        """The claims of a valid link, or LinkError (401 tampered, 410 expired or revoked)."""
        verdict = self._links.verify(token)
        if isinstance(verdict, LinkRefused):
            raise LinkError(401 if verdict.reason.value == "tampered" else 410, verdict.detail)
        return verdict

    def worker_of_link(self, token: str) -> int | None:
        """The worker a valid link opens, or None (for the socket handshake)."""
        verdict = self._links.verify(token)
        return None if isinstance(verdict, LinkRefused) else verdict.worker_id

    def day(self, claims: LinkClaims) -> dict[str, Any]:
        """The worker's orders of the day in route order, with what the page needs to work offline."""
        with session_scope(self._sessions) as session:
            worker = workers_repo.get_worker(session, claims.worker_id)
            if worker is None:
                raise LinkError(410, "this worker no longer exists")
            orders = [
                o for o in orders_repo.orders_of_worker(session, worker_id=claims.worker_id)
                if spans_day(o.window.start, o.window.end, claims.day, day_zone(worker.zone, self._zone))
                and o.status is not OrderStatus.CANCELLED
            ]  # fmt: skip
            # In the order of the day's published route plan; by time window where there is none. A visit the plan
            # leaves out because it was under way (or done) when the plan was made comes first: it came first.
            sequence = plans_repo.published_sequence(session, day=claims.day, worker_id=claims.worker_id)
            orders.sort(key=lambda o: (o.id in sequence or o.status not in BEGUN, sequence.get(o.id, len(sequence)),
                                       o.window.start, o.id))  # fmt: skip
            sites = {s.id: s for s in sites_repo.list_sites(session)}
            reports = {o.id: field_repo.report_of(session, order_id=o.id) for o in orders}
            photos = {o.id: [p.id for p in field_repo.photos_of(session, order_id=o.id)] for o in orders}
            checkins = {o.id: field_repo.checkins_of(session, order_id=o.id) for o in orders}
            forms = {t: forms_repo.current_form(session, t.value) for t in {o.type for o in orders}}
            steps = {o.id: forms_service.report_steps(session, order_id=o.id) for o in orders}
        stops = [sites[o.site_id].location for o in orders if o.site_id in sites]
        # The day's route along the roads (cached per leg), drawn on the page's map; sent with the day so it
        # is there offline too.
        route = self._path_of(stops).as_json() if self._path_of is not None and len(stops) > 1 else None
        return {
            "worker": {"id": worker.id, "name": worker.name},
            "day": claims.day.isoformat(),
            "expires_at": claims.expires_at.isoformat(),
            "orders": [
                _order_view(
                    o, sites[o.site_id], reports[o.id], photos[o.id], checkins[o.id], forms[o.type], steps[o.id]
                )
                for o in orders
                if o.site_id in sites
            ],
            "route": route,
        }

    def sync(self, claims: LinkClaims, raw: Any) -> list[dict[str, Any]]:
        """Apply an uploaded action queue; one result per action, in upload order. Replays are harmless."""
        items = _action_items(raw)
        sent_at = _sent_at(raw)
        results: dict[int, dict[str, Any]] = {}
        queued: list[tuple[int, QueuedAction, dict[str, Any]]] = []
        if self._attendance is not None:  # clock-in/out, late entries, the day's report: first, in upload order
            with session_scope(self._sessions) as session:
                ids = [str(item.get("client_action_id")) for item in items]
                known = field_repo.known_action_ids(session, ids)
            for i, item in enumerate(items):
                if item.get("action") in self._attendance.actions:
                    results[i] = self._attendance.apply(claims, item, known)
                    known.add(str(item.get("client_action_id")))
        for i, item in enumerate(items):
            if i in results:
                continue
            try:
                queued.append((i, _queued_action(item), item))
            except FieldInputError as exc:
                results[i] = {
                    "client_action_id": item.get("client_action_id"),
                    "status": "invalid",
                    "error": str(exc),
                    "field": exc.field,
                }
        with session_scope(self._sessions) as session:
            known = field_repo.known_action_ids(session, [q.client_action_id for _, q, _ in queued])
        batch = apply_actions(known, [q for _, q, _ in queued])
        # By the action itself, not its id: an id sent twice in one upload is two actions, the first applied with
        # its own item (report, photos) and the second answered "duplicate" (by id, the first got the second's
        # item and its result, and the upload one result fewer than it had actions).
        where = {id(q): (i, item) for i, q, item in queued}
        for duplicate in batch.duplicates:
            results[where[id(duplicate)][0]] = {"client_action_id": duplicate.client_action_id, "status": "duplicate"}
        for action in batch.new:
            i, item = where[id(action)]
            results[i] = self._apply(claims, action, item, sent_at=sent_at)
        return [results[i] for i in sorted(results)]

    def _apply(
        self, claims: LinkClaims, action: QueuedAction, item: dict[str, Any], *, sent_at: datetime | None = None
    ) -> dict[str, Any]:
        now = self._clock.now()
        # The phone's clock against ours: its `sent_at` (the upload's time on the phone) is compared with
        # when we received it. Without it, only an action stamped after we received it shows a clock ahead.
        if sent_at is not None:
            clock_offset_s: float | None = (sent_at - now).total_seconds()
        else:
            clock_offset_s = (action.occurred_at - now).total_seconds() if action.occurred_at > now else None
        kind = str(item["action"])
        published: tuple[WorkOrder, Site, int | None, str | None] | None = None
        with session_scope(self._sessions) as session:
            actor = field_repo.actor_for_worker(session, worker_id=claims.worker_id)
            order = orders_repo.get_order(session, action.order_id)
            site = sites_repo.get_site(session, order.site_id) if order else None
            refusal = None
            if order is None or site is None:
                refusal = f"no order with id {action.order_id}"
            elif kind == "report":
                refusal = self._store_report(session, claims, order, action, item, now)
                outcome: dict[str, Any] = {"status": "applied" if refusal is None else "refused"}
                if refusal is None:  # the dispatcher's open order card refreshes on the push
                    published = (order, site, None, None)
            elif (
                action.to is OrderStatus.ON_SITE and self._attendance is not None
                and (why := self._attendance.check_in_refusal(session, claims.worker_id, action.occurred_at))
            ):  # fmt: skip
                refusal = why
            else:
                busy = (
                    orders_repo.orders_of_worker(session, worker_id=order.assigned_worker_id)
                    if action.to is OrderStatus.ON_SITE and order.assigned_worker_id is not None
                    else []
                )
                moved = transition(
                    order, action.to, actor=actor, at=action.occurred_at, location=action.location,
                    reason=action.reason, worker_orders=busy,
                )  # fmt: skip
                if _arrived_by_geofence(order, action.to, claims.worker_id):
                    # The geofence made the order on site already: the phone's check-in is still verified and kept.
                    moved = Transitioned(order, _unchanged(order, action.occurred_at))
                if isinstance(moved, Refused):
                    refusal = moved.reason
                else:
                    if moved.change.from_status is not moved.change.to_status:
                        order = orders_repo.save_change(session, moved.change)
                    flag = None
                    if kind in ("check_in", "check_out"):
                        verdict, score = self._check(session, claims, order, site, action, kind, clock_offset_s)
                        if verdict.kind is not CheckinKind.VERIFIED:
                            flag = f"suspicious check-{kind[6:]}: {verdict.reason}"
                        outcome = {"status": "applied", "verdict": verdict.kind.value, "verdict_reason": verdict.reason,
                                   "confidence": score}  # fmt: skip
                    else:
                        outcome = {"status": "applied"}
                    published = (order, site, moved.change.previous_worker_id, flag)
            if refusal is not None:
                outcome = {"status": "refused", "error": refusal}
            field_repo.record_action(
                session, client_action_id=action.client_action_id, worker_id=claims.worker_id,
                order_id=order.id if order else None, action=kind, event_time=action.occurred_at, server_time=now,
                outcome=outcome["status"], reason=refusal or "", payload={k: v for k, v in item.items() if k != "report"},
            )  # fmt: skip
        if published is not None:
            self._publish(*published)
        if order is not None and refusal is None:
            outcome["order_status"] = order.status.value
        return {"client_action_id": action.client_action_id, **outcome}

    def _check(
        self,
        session: Session,
        claims: LinkClaims,
        order: WorkOrder,
        site: Site,
        action: QueuedAction,
        kind: str,
        clock_offset_s: float | None,
    ) -> tuple[CheckinVerdict, int]:
        fix = None
        if action.location is not None:
            fix = Position(
                worker_id=claims.worker_id, device_id="push-link", fix_time=action.fix_time or action.occurred_at,
                device_time=action.occurred_at, server_time=self._clock.now(), latitude=action.location.lat,
                longitude=action.location.lon, accuracy_m=action.accuracy_m, mock=action.mock,
            )  # fmt: skip
        # A check-in is judged against the order's window too (early/late); a check-out only by place.
        window = order.window if kind == "check_in" else None
        verdict = verify_checkin(site, fix, at=action.occurred_at, window=window)
        evidence = self._evidence(session, claims.worker_id, order, site, action, window, clock_offset_s)
        confidence = score_checkin(evidence, self._weights)
        doubtful = needs_review(confidence.score, self._review_threshold)
        field_repo.add_checkin(
            session, order_id=order.id, worker_id=claims.worker_id, kind="in" if kind == "check_in" else "out",
            at=action.occurred_at, location=action.location, accuracy_m=action.accuracy_m, verdict=verdict,
            client_action_id=action.client_action_id, confidence=confidence, evidence=evidence,
            review_status="needs_review" if doubtful else "not_needed",
        )  # fmt: skip
        if verdict.kind is not CheckinKind.VERIFIED:
            field_repo.raise_alert(
                session, type="checkin_suspicious", worker_id=claims.worker_id, order_id=order.id, at=action.occurred_at,
                details={"verdict": verdict.kind.value, "reason": verdict.reason, "kind": kind},
            )  # fmt: skip
        return verdict, confidence.score

    def _evidence(
        self,
        session: Session,
        worker_id: int,
        order: WorkOrder,
        site: Site,
        action: QueuedAction,
        window: TimeWindow | None,
        clock_offset_s: float | None,
    ) -> CheckinEvidence:
        """What the check-in is scored from: its fix against the fence, the stored track before it, the photos."""
        at = action.occurred_at
        track = positions_repo.positions_between(
            session, worker_id=worker_id, start=at - JUMP_LOOKBACK, end=at + timedelta(minutes=1)
        )
        fixes = [Fix(p.fix_time, p.point, p.accuracy_m) for p in track if p.valid]
        recent_mock = any(p.mock for p in track if p.fix_time >= at - timedelta(seconds=self._weights.max_fix_age_s))
        location = action.location
        if location is not None:
            fixes.append(Fix(action.fix_time or at, location, action.accuracy_m))
        return CheckinEvidence(
            at=at, site_name=site.name,
            outside_by_m=site_fence(site).outside_by_m(location) if location is not None else None,
            accuracy_m=action.accuracy_m,
            fix_age_s=(at - action.fix_time).total_seconds() if location is not None and action.fix_time else None,
            window=window, mock=action.mock or recent_mock,
            jump=impossible_jump(fixes, max_speed_mps=self._weights.max_speed_mps), clock_offset_s=clock_offset_s,
            place=location or site.location,
            photos=field_repo.photo_evidence(session, order_id=order.id, worker_id=worker_id) if window else (),
            zone=self._worker_zone(session, worker_id),
        )  # fmt: skip

    def _worker_zone(self, session: Session, worker_id: int) -> tzinfo:
        """Whose clock a person reads the worker's times on: their own zone, else the office's."""
        worker = workers_repo.get_worker(session, worker_id)
        return day_zone(worker.zone if worker is not None else None, self._zone)

    def _rescore_with_photos(self, session: Session, *, order_id: int, worker_id: int) -> None:
        """A photo arrived after the check-in (the offline queue sends photos last): score it again."""
        found = field_repo.latest_checkin_evidence(session, order_id=order_id, worker_id=worker_id)
        if found is None:
            return
        checkin_id, evidence = found
        photos = field_repo.photo_evidence(session, order_id=order_id, worker_id=worker_id)
        zone = self._worker_zone(session, worker_id)
        confidence = score_checkin(replace(evidence, photos=photos, zone=zone), self._weights)
        field_repo.rescore_checkin(
            session,
            checkin_id,
            confidence=confidence,
            needs_review=needs_review(confidence.score, self._review_threshold),
        )

    def _store_report(
        self,
        session: Session,
        claims: LinkClaims,
        order: WorkOrder,
        action: QueuedAction,
        item: dict[str, Any],
        now: datetime,
    ) -> str | None:
        if order.assigned_worker_id != claims.worker_id:
            return f"order {order.id} is not assigned to you"
        report = item.get("report")
        if not isinstance(report, dict):
            return "report: expected an object with text, checklist, parts, signature"
        try:  # a misspelt key would otherwise be dropped, and what the worker wrote with it
            refuse_unknown(report, REPORT_KEYS)
        except FieldError as exc:
            return f"report.{exc.field}: {exc.reason}"
        checklist = report.get("checklist") or {}
        parts = report.get("parts") or []
        if not isinstance(checklist, dict) or not all(isinstance(v, bool) for v in checklist.values()):
            return "report.checklist: expected {item: true/false}"
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            return "report.parts: expected a list of {name, quantity}"
        submission = forms_service.check_submission(
            session, order_type=order.type.value, order_id=order.id, report=report
        )
        if isinstance(submission, Problem):
            return f"{submission.field}: {submission.reason}"
        if submission is not None:
            for field_id in forms_service.signature_fields(submission.form):
                if submission.answers.get(field_id):  # a PNG within the signature limits, kept as sent
                    try:
                        _signature_png(str(submission.answers[field_id]), f"report.answers.{field_id}")
                    except FieldInputError as exc:
                        return str(exc)
            checklist = ticked_checklist(submission.form, submission.answers)
        step = forms_service.submitted_step(session, order_id=order.id)
        signature_path = None
        if report.get("signature"):
            try:
                png = _signature_png(str(report["signature"]))
            except FieldInputError as exc:
                return str(exc)
            target = self._upload_dir / "signatures" / str(order.id) / f"{_safe(action.client_action_id)}.png"
            _write_durably(target, png)
            signature_path = str(target)
        if submission is not None:
            status = submission.status
        else:  # a page from before forms (cached on a phone): the order type's current form says whether it waits
            current = forms_repo.current_form(session, order.type.value)
            status = status_on_submit(current.form if current else None)
        report_id = field_repo.add_report(
            session, client_action_id=action.client_action_id, order_id=order.id, worker_id=claims.worker_id,
            text=str(report.get("text", ""))[:10_000], checklist=checklist, parts=parts, signature_path=signature_path,
            signed_by=str(report.get("signed_by", ""))[:200], written_at=action.occurred_at, created_at=now,
            form_id=submission.form_id if submission else None, answers=submission.answers if submission else None,
            status=status.value,
        )  # fmt: skip
        worker = workers_repo.get_worker(session, claims.worker_id)
        forms_service.record_submitted(
            session, step=step, order_id=order.id, worker_id=claims.worker_id, report_id=report_id, status=status,
            worker_name=worker.name if worker else f"worker {claims.worker_id}", at=now, written_at=action.occurred_at,
        )  # fmt: skip
        return None

    def add_photo(
        self,
        claims: LinkClaims,
        *,
        order_id: int,
        client_action_id: str,
        data: bytes,
        content_type: str,
        taken_at: datetime,
    ) -> tuple[dict[str, Any], bool]:
        """Store a photo of an order's site (type and size checked, thumbnail made); (photo, created)."""
        if content_type not in PHOTO_TYPES:
            raise FieldInputError("file", f"type {content_type!r} is not one of {', '.join(PHOTO_TYPES)}")
        if len(data) > MAX_PHOTO_BYTES:
            raise FieldInputError("file", f"{len(data)} bytes is more than {MAX_PHOTO_BYTES} bytes")
        if not data:
            raise FieldInputError("file", "empty")
        with session_scope(self._sessions) as session:
            existing = field_repo.photo_by_action(session, client_action_id)
            if existing is not None:
                return _photo_json(existing), False
            order = orders_repo.get_order(session, order_id)
            if order is None or order.assigned_worker_id != claims.worker_id:
                raise FieldInputError("order_id", f"order {order_id} is not assigned to you")
            thumbnail = _thumbnail(data)  # refuses image bombs before anything below decodes the photo
            now = self._clock.now()
            site = sites_repo.get_site(session, order.site_id)
            worker = workers_repo.get_worker(session, claims.worker_id)
            # A camera's time without an offset is the worker's wall clock (their zone, else the office's); the
            # band reads on that clock too.
            tz = day_zone(worker.zone if worker else None, self._zone)
            exif_taken_at, exif_place = read_exif(data, local_zone=tz)
            stamped = watermarked(
                data,
                stamp_lines(
                    taken_at=exif_taken_at or taken_at, received_at=now, site_name=site.name if site else "",
                    worker_name=worker.name if worker else f"worker {claims.worker_id}",
                    zone=tz if isinstance(tz, ZoneInfo) else None,
                ),
            )  # fmt: skip
            folder = self._upload_dir / "photos" / str(order_id)
            path = folder / f"{_safe(client_action_id)}.{PHOTO_TYPES[content_type]}"
            thumb_path = folder / f"{_safe(client_action_id)}.thumb.jpg"
            stamped_path = folder / f"{_safe(client_action_id)}.watermarked.jpg"
            _write_durably(path, data)
            _write_durably(thumb_path, thumbnail)
            _write_durably(stamped_path, stamped)
            photo = field_repo.add_photo(
                session, client_action_id=client_action_id, order_id=order_id, worker_id=claims.worker_id,
                path=str(path), thumbnail_path=str(thumb_path), content_type=content_type, size_bytes=len(data),
                taken_at=taken_at, created_at=now, watermarked_path=str(stamped_path), exif_taken_at=exif_taken_at,
                exif_location=exif_place,
            )  # fmt: skip
            self._rescore_with_photos(session, order_id=order_id, worker_id=claims.worker_id)
        if site is not None:  # the dispatcher's open order card refreshes on the push
            self._publish(order, site, None, None)
        return _photo_json(photo), True

    def report_positions(self, claims: LinkClaims, body: bytes) -> dict[str, Any]:
        """Positions from the open page (with the worker's consent), through the same pipeline as /osmand."""
        try:
            raw = decode_json(body or b"null")
        except IngestError as exc:
            raise FieldInputError("body", exc.reason) from None
        items = raw.get("positions") if isinstance(raw, dict) else raw
        if not isinstance(items, list):
            raise FieldInputError("positions", "expected a list")
        with session_scope(self._sessions) as session:
            worker = workers_repo.get_worker(session, claims.worker_id)
        if worker is None:
            raise LinkError(410, "this worker no longer exists")
        tagged = [{**item, "id": worker.device_id} if isinstance(item, dict) else item for item in items]
        reports = parse_batch(json.dumps(tagged).encode())
        mine = Decision(True)
        outcomes = self._pipeline.ingest_many(
            reports, may_report=lambda wid: mine if wid == claims.worker_id else Decision(False, "not your device")
        )
        return {"accepted": sum(isinstance(o, Stored) for o in outcomes), "received": len(items)}

    def _publish(self, order: WorkOrder, site: Site, previous_worker_id: int | None, flag: str | None) -> None:
        feature = geojson.order_feature(order, site)
        lon, lat = feature["geometry"]["coordinates"]
        props = {**feature["properties"], "lat": lat, "lon": lon}
        if flag:
            props["flag"] = flag
        self._bus.publish(ORDERS, {"order": props, "previous_worker_id": previous_worker_id})
        if flag and order.assigned_worker_id is not None:  # the exceptions panel lists it too
            with session_scope(self._sessions) as session:
                alert = alerts_repo.open_alert(
                    session, AlertKind.SUSPICIOUS_CHECK_IN, worker_id=order.assigned_worker_id, order_id=order.id
                )
            if alert is not None:
                self._bus.publish(ALERTS, alert_message(alert))


def _arrived_by_geofence(order: WorkOrder, to: OrderStatus, worker_id: int) -> bool:
    """A check-in for an order the worker's geofence arrival already made on site (not a refusal)."""
    return to is OrderStatus.ON_SITE and order.status is OrderStatus.ON_SITE and order.assigned_worker_id == worker_id


def _unchanged(order: WorkOrder, at: datetime) -> StatusChange:
    """The no-op change of a check-in after a geofence arrival: nothing is stored for it but the check-in itself."""
    return StatusChange(
        order_id=order.id, from_status=order.status, to_status=order.status, event=LifecycleEvent.CHECKED_IN, at=at,
        actor_id=None, location=None, reason="", worker_id=order.assigned_worker_id,
        previous_worker_id=order.assigned_worker_id,
    )  # fmt: skip


def _action_items(raw: Any) -> list[dict[str, Any]]:
    items = raw.get("actions") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise FieldInputError("actions", "expected a list of actions")
    if len(items) > MAX_ACTIONS:
        raise FieldInputError("actions", f"more than {MAX_ACTIONS} actions in one upload")
    if not all(isinstance(i, dict) for i in items):
        raise FieldInputError("actions", "every action must be an object")
    return items


def _queued_action(item: dict[str, Any]) -> QueuedAction:
    cid = item.get("client_action_id")
    if not isinstance(cid, str) or not cid.strip() or len(cid) > 100:
        raise FieldInputError("client_action_id", "missing or longer than 100 characters")
    kind = item.get("action")
    if not isinstance(kind, str) or (kind != "report" and kind not in ACTIONS):
        raise FieldInputError("action", f"{kind!r} is not one of {', '.join([*ACTIONS, 'report'])}")
    order_id = item.get("order_id")
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        raise FieldInputError("order_id", "missing or not a whole number")
    if not 1 <= order_id <= MAX_ID:
        raise FieldInputError("order_id", f"not an id (1..{MAX_ID})")
    try:
        at = datetime.fromisoformat(str(item.get("at", "")).replace("Z", "+00:00"))
        at_utc = at.astimezone(UTC)
    except ValueError:
        raise FieldInputError("at", f"{str(item.get('at'))[:60]!r} is not an ISO 8601 time") from None
    except OverflowError:
        raise FieldInputError("at", f"{str(item.get('at'))[:60]!r} is beyond the calendar in UTC") from None
    if at.tzinfo is None:
        raise FieldInputError("at", "needs a time zone")
    location, accuracy, fix_time, mock = None, None, None, False
    loc = item.get("location")
    if loc is not None:
        try:
            location, accuracy = phone_fix(loc)
        except FieldError as exc:
            raise FieldInputError(exc.field or "location", exc.reason) from None
        fix_time = _aware_time(loc.get("at"), "location.at") if loc.get("at") is not None else None
        mock = loc.get("mock", False)
        if not isinstance(mock, bool):
            raise FieldInputError("location.mock", "expected true or false")
    reason = item.get("reason", "")
    return QueuedAction(
        client_action_id=cid, order_id=order_id, to=ACTIONS.get(str(kind), OrderStatus.ON_SITE),
        occurred_at=at_utc, location=location, accuracy_m=accuracy, reason=reason if isinstance(reason, str) else "",
        fix_time=fix_time, mock=mock,
    )  # fmt: skip


def _aware_time(raw: Any, field: str) -> datetime:
    """An ISO 8601 time with a zone, in UTC; FieldInputError naming `field` otherwise."""
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise FieldInputError(field, f"{str(raw)[:60]!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise FieldInputError(field, "needs a time zone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise FieldInputError(field, f"{str(raw)[:60]!r} is beyond the calendar in UTC") from None


def _sent_at(raw: Any) -> datetime | None:
    """The phone's clock when it sent the upload (`sent_at`), to compare with ours; None when not sent."""
    value = raw.get("sent_at") if isinstance(raw, dict) else None
    return None if value is None else _aware_time(value, "sent_at")


def _order_view(
    order: WorkOrder,
    site: Site,
    report: dict[str, Any] | None,
    photos: list[int],
    checkins: list[tuple[str, str, float | None]],
    form: forms_repo.StoredForm | None,
    report_steps: list[dict[str, Any]],
) -> dict[str, Any]:
    lat, lon = site.location.lat, site.location.lon
    return {
        "id": order.id,
        "status": order.status.value,
        "type": order.type.value,
        "priority": order.priority,
        "window_start": order.window.start.isoformat(),
        "window_end": order.window.end.isoformat(),
        "service_minutes": round(order.service_duration_s / 60),
        "notes": order.notes,
        "site": {
            "name": site.name,
            "address": site.address,
            "lat": lat,
            "lon": lon,
            "geofence_radius_m": site.geofence_radius_m,
        },
        "navigation": {
            "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}",
            "osm": f"https://www.openstreetmap.org/directions?to={lat:.6f}%2C{lon:.6f}",
        },
        # The order type's current form, so the phone renders it offline and submits against this version.
        "form": forms_service.form_json(form) if form else None,
        "report": report,
        "report_steps": report_steps,
        "photos": len(photos),
        # Which photos: the phone counts one it sent as sent once, whether or not a day read before it arrived says so.
        "photo_ids": photos,
        "checkins": [{"kind": k, "verdict": v, "distance_m": d} for k, v, d in checkins],
    }


def checkin_json(c: field_repo.Checkin) -> dict[str, Any]:
    """A check-in as the field record and the review queue give it: verdict, confidence, review."""
    return {
        "id": c.id, "kind": c.kind, "at": c.at.isoformat(), "verdict": c.verdict, "distance_m": c.distance_m,
        "confidence": c.score, "reasons": [{"code": r.code, "points_lost": r.points_lost, "text": r.text} for r in c.reasons],
        "review": {
            "status": c.review_status, "note": c.review_note, "by": c.reviewed_by_name, "by_id": c.reviewed_by,
            "at": c.reviewed_at.isoformat() if c.reviewed_at else None,
        },
    }  # fmt: skip


def _photo_links(p: field_repo.Photo) -> dict[str, Any]:
    """A photo with the URLs of its thumbnail, original and (from 0006 on) stamped copy, and its EXIF."""
    return {
        **_photo_json(p),
        "thumbnail_url": f"/api/v1/photos/{p.id}/thumbnail",
        "original_url": f"/api/v1/photos/{p.id}/original",
        "watermarked_url": f"/api/v1/photos/{p.id}/watermarked" if p.watermarked_path else None,
        "exif": {
            "taken_at": p.exif_taken_at.isoformat() if p.exif_taken_at else None,
            "has_location": p.exif_location is not None,
        },
    }


def _photo_json(photo: field_repo.Photo) -> dict[str, Any]:
    return {
        "photo_id": photo.id,
        "order_id": photo.order_id,
        "size_bytes": photo.size_bytes,
        "content_type": photo.content_type,
    }


def _thumbnail(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            _refuse_bomb("file", image.size, MAX_PHOTO_PIXELS)
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            # Shrink first (JPEG decodes at 1/2..1/8 scale through draft), then convert: memory
            # follows the thumbnail's size, not the photo's.
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            rgb = image.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=80)
            return out.getvalue()
    except Image.DecompressionBombError as exc:  # Pillow's own limit, met while reading the header
        raise FieldInputError("file", f"larger than {MAX_PHOTO_PIXELS:,} pixels: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, FieldInputError):
            raise
        raise FieldInputError("file", f"not a readable image ({type(exc).__name__})") from None


def _refuse_bomb(field: str, size: tuple[int, int], max_pixels: int) -> None:
    """FieldInputError naming the declared size when an image is too large to decode."""
    width, height = size
    if width * height > max_pixels:
        raise FieldInputError(
            field, f"{width} × {height} pixels is larger than {max_pixels:,} pixels ({max_pixels / 1e6:g} MP)"
        )


def _signature_png(data_url: str, field: str = "report.signature") -> bytes:
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise FieldInputError(field, "expected a data:image/png;base64 URL")
    try:
        png = base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise FieldInputError(field, "not valid base64") from None
    if len(png) > MAX_SIGNATURE_BYTES:
        raise FieldInputError(field, f"larger than {MAX_SIGNATURE_BYTES} bytes")
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise FieldInputError(field, "not a PNG image")
            _refuse_bomb(field, image.size, MAX_SIGNATURE_PIXELS)
            image.verify()
    except Image.DecompressionBombError as exc:
        raise FieldInputError(field, f"larger than {MAX_SIGNATURE_PIXELS:,} pixels: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise FieldInputError(field, "not a readable PNG image") from None
    return png


def _safe(client_action_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in client_action_id)[:100]


def _write_durably(path: Path, data: bytes) -> None:
    """Write the file and flush it to disk before the upload is acknowledged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)

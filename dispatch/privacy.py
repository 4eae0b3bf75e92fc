"""Privacy rules as values: consent to tracking, retention per kind of personal data, anonymising a leaver.

Pure: the callers (`realtime/pipeline.py`, `console/privacy_service.py`, `data/privacy_repo.py`) feed
stored values and the clock's `now`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum


class ConsentState(StrEnum):
    GIVEN = "given"
    NONE = "none"
    WITHDRAWN = "withdrawn"


class ConsentSource(StrEnum):
    LINK = "link"  # the worker, on their own push-link page
    PAPER = "paper"  # an admin, recording consent given on paper


@dataclass(frozen=True, slots=True)
class Consent:
    """One consent of a worker under one version of the consent text; `withdrawn_at` once withdrawn."""

    id: int
    worker_id: int
    text_version: str
    given_at: datetime
    source: ConsentSource
    given_by: int | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: int | None = None

    @property
    def state(self) -> ConsentState:
        return ConsentState.WITHDRAWN if self.withdrawn_at is not None else ConsentState.GIVEN


def consent_state(latest: Consent | None) -> ConsentState:
    """The worker's state from their newest consent row (None: never asked or never given)."""
    return ConsentState.NONE if latest is None else latest.state


NO_CONSENT = "no consent to location tracking"
CONSENT_WITHDRAWN = "consent to location tracking withdrawn"


def consent_refusal(state: ConsentState, *, required: bool) -> str | None:
    """Why a worker's fix must not be kept, or None to keep it.

    A withdrawn consent always stops tracking. Without any consent on record, fixes are refused when
    consent is required (`OUTFIELD_CONSENT_REQUIRED`), else kept as before consents were recorded.
    """
    if state is ConsentState.WITHDRAWN:
        return CONSENT_WITHDRAWN
    if state is ConsentState.NONE and required:
        return NO_CONSENT
    return None


def check_text_version(raw: object) -> str:
    """The consent text's version as given (1-50 characters); ValueError naming `text_version` otherwise."""
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > 50:
        raise ValueError("text_version: the version of the consent text agreed to (1 to 50 characters)")
    return raw.strip()


@dataclass(frozen=True, slots=True)
class RetentionDays:
    """How long each kind of personal data is kept, in days (`OUTFIELD_RETENTION_<KIND>_DAYS`).

    - positions: every stored fix (and with them the tracks reports and the day page draw);
    - events: geofence crossings and the alerts raised from events (open alerts stay); the order's review and
      approval steps are its business record and stay with it;
    - checkins: the coordinates of check-ins and check-outs (the check-in itself stays, for the order's record),
      and of clock-ins and clock-outs (the clock event, its time and verdict, stays for the hours);
    - status_locations: where an order's status changes were made;
    - photos: field photos, their files (original, thumbnail, stamped copy) and rows;
    - signatures: the customer's signature file and name on service reports (the report's text stays);
    - field_actions: the phone's action log (its payloads carry positions) and the reminders sent to the phone;
    - surveys: customers' survey comments (the rating stays for the reports);
    - attendance_notes: what workers wrote about their day: decided late entries' reasons and the manager's note,
      day reports' free text (done, problems, notes); the times, decisions, km and approved timesheets stay
      for payroll;
    - audit: the audit log, the accountability record: kept long.
    Kilometre aggregates (worker_day_km) hold no location and are kept. A deactivated worker's Web Push
    subscriptions are removed by every purge (and at once when deactivated through the API).
    """

    positions: int = 90
    events: int = 180
    checkins: int = 365
    status_locations: int = 365
    photos: int = 365
    signatures: int = 365
    field_actions: int = 90
    surveys: int = 365
    attendance_notes: int = 365
    audit: int = 730

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{f.name}: {value!r} must be a whole number of days >= 1")

    def kinds(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Per kind, the time before which its data is past retention at `now`."""
        if now.tzinfo is None:
            raise ValueError("now: must be timezone-aware")
        return {kind: now - timedelta(days=getattr(self, kind)) for kind in self.kinds()}


def anonymised_name(worker_id: int) -> str:
    """What an anonymised leaver is called from then on."""
    return f"Former worker #{worker_id}"

"""Parse a new work order from JSON (API and console form) into a value; 400s name the field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dispatch.errors import MAX_ID, InputError
from dispatch.fields import FIRST_YEAR, LAST_YEAR
from dispatch.orders import OrderType, TimeWindow

MAX_SERVICE_S = 24 * 3600
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
"""Order windows lie within `dispatch.fields.FIRST_YEAR`..`LAST_YEAR` (2000..2099): anything else is a typo, and
years 1 or 9999 break time arithmetic."""


class FieldError(InputError):
    """Bad input at the edge: `field` names what to fix."""


@dataclass(frozen=True, slots=True)
class NewOrder:
    site_id: int
    type: OrderType
    priority: int
    required_skills: frozenset[str]
    window: TimeWindow
    service_duration_s: int
    notes: str
    reference: str


NEW_ORDER_FIELDS = frozenset({
    "site_id", "type", "priority", "required_skills", "window_start", "window_end", "service_duration_s",
    "service_minutes", "notes", "reference",
})  # fmt: skip


def parse_new_order(body: Any) -> NewOrder:
    """A NewOrder from a JSON object, or FieldError naming the first bad field.

    Only `NEW_ORDER_FIELDS` are read. `POST /api/v1/work-orders` is a route other tools rely on: it takes a key it
    does not know, as it always did, and its answer lists it as `ignored` (`console.request_body.ignored_keys`).
    """
    if not isinstance(body, dict):
        raise FieldError("body", "expected a JSON object")
    site_id = _int(body, "site_id", required=True)
    if not 1 <= site_id <= MAX_ID:
        raise FieldError("site_id", f"{site_id if site_id < 10**30 else 'a huge number'} is not an id (1..{MAX_ID})")
    try:
        order_type = OrderType(str(body.get("type", "visit")))
    except ValueError:
        raise FieldError(
            "type", f"{body.get('type')!r} is not one of {', '.join(t.value for t in OrderType)}"
        ) from None
    priority = _int(body, "priority", default=3)
    if not 1 <= priority <= 5:
        raise FieldError("priority", f"{priority} is not within 1..5 (1 = most urgent)")
    skills = body.get("required_skills", [])
    if isinstance(skills, str):
        skills = [s for s in skills.replace(";", ",").split(",")]
    if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
        raise FieldError("required_skills", "expected a list of skill names")
    start = _time(body, "window_start")
    end = _time(body, "window_end")
    if end <= start:
        raise FieldError("window_end", "must be after window_start")
    if "service_duration_s" in body:
        service_s = _int(body, "service_duration_s")
    else:
        service_s = _int(body, "service_minutes", default=30) * 60
    if not 0 < service_s <= MAX_SERVICE_S:
        raise FieldError("service_duration_s", f"{service_s} s is not within 1 s..24 h")
    notes = body.get("notes", "")
    reference = body.get("reference", "")
    if not isinstance(notes, str):
        raise FieldError("notes", "expected text")
    if not isinstance(reference, str) or len(reference) > 100:
        raise FieldError("reference", "expected text of at most 100 characters")
    return NewOrder(
        site_id=site_id,
        type=order_type,
        priority=priority,
        required_skills=frozenset(s.strip().lower() for s in skills if s.strip()),
        window=TimeWindow(start, end),
        service_duration_s=service_s,
        notes=notes.strip(),
        reference=reference.strip(),
    )


def _int(body: dict[str, Any], name: str, *, required: bool = False, default: int = 0) -> int:
    if name not in body or body[name] in (None, ""):
        if required:
            raise FieldError(name, "missing")
        return default
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError(name, f"{value!r} is not a whole number")
    try:
        return int(value)
    except ValueError:
        raise FieldError(name, f"{value!r} is not a whole number") from None


def _time(body: dict[str, Any], name: str) -> datetime:
    raw = body.get(name)
    if not isinstance(raw, str) or not raw:
        raise FieldError(name, "missing (ISO 8601 with a time zone, e.g. 2025-03-03T09:00:00Z)")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(name, f"{raw[:60]!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise FieldError(name, f"{raw!r} has no time zone (add Z or +hh:mm)")
    if not EARLIEST <= value < LATEST:
        raise FieldError(name, f"{raw!r} is not within the years {FIRST_YEAR}..{LAST_YEAR}")
    return value.astimezone(UTC)

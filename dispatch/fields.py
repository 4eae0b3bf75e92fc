"""Reading a request's fields into domain values, refusing each bad one with its name and reason.

The administration API, its pages and the command line agree on what a valid worker, site, user or
team is because they all read through these functions (`dispatch.workers.worker_input`,
`dispatch.sites.site_input`, `dispatch.users.user_input`, `dispatch.teams.team_input`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from dispatch.errors import InputError
from dispatch.geo import LatLon

FIRST_YEAR = 2000
LAST_YEAR = 2099
"""Every day Outfield plans, reports or records lies within these years, as every order's window does
(`services.order_input`): a day outside is a typo, and years 1 and 9999 break the arithmetic of a day's bounds."""


def outside_calendar(value: date) -> str | None:
    """Why `value` is not a day Outfield works with (outside `FIRST_YEAR`..`LAST_YEAR`), or None."""
    if FIRST_YEAR <= value.year <= LAST_YEAR:
        return None
    return f"{value.isoformat()!r} is not within the years {FIRST_YEAR}..{LAST_YEAR}"


class FieldError(InputError):
    """A value that cannot be accepted: `field` names it, `reason` says why (a 400)."""


class Conflict(FieldError):
    """A well-formed value another record already holds, or a change the record's state forbids (a 409)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason, status=409)


def refuse_unknown(body: Mapping[str, Any], known: Collection[str]) -> None:
    """FieldError naming the first field of `body` that is not one of `known`."""
    for name in body:
        if name not in known:
            # An empty key is named '""', not "": every refusal names a field.
            raise FieldError(str(name)[:60] or '""', f"is not a field here (known: {', '.join(sorted(known))})")


def text(body: Mapping[str, Any], name: str, *, max_len: int, required: bool = False, empty_ok: bool = False) -> str:
    """`body[name]` as stripped text of at most `max_len` characters."""
    value = body.get(name)
    if value is None:
        if required:
            raise FieldError(name, "is required")
        return ""
    if not isinstance(value, str):
        raise FieldError(name, "must be text")
    value = value.strip()
    if not value and not empty_ok:
        raise FieldError(name, "must not be empty")
    if len(value) > max_len:
        raise FieldError(name, f"is longer than {max_len} characters")
    if any(ord(c) < 32 for c in value):
        raise FieldError(name, "must not hold control characters (line breaks, tabs)")
    return value


def boolean(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise FieldError(name, "must be true or false")
    return value


def number(body: Mapping[str, Any], name: str, *, low: float, high: float) -> float:
    """`body[name]` as a finite number within [low, high]."""
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(name, "must be a number")
    if not low <= value <= high:
        raise FieldError(name, f"{value!r} is not within {low:g}..{high:g}")
    return float(value)


def whole(value: Any, name: str) -> int:
    """`value` as an id: a whole number within 1..2^63-1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**63 - 1:
        raise FieldError(name, "must be an id (a whole number of at least 1)")
    return value


def optional_id(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    return None if value is None else whole(value, name)


def point(body: Mapping[str, Any], name: str) -> LatLon | None:
    """`body[name]` as `{"lat": .., "lon": ..}`; None when null."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"lat", "lon"}:
        raise FieldError(name, 'must be {"lat": degrees, "lon": degrees} or null')
    lat, lon = value["lat"], value["lon"]
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in (lat, lon)):
        raise FieldError(name, "lat and lon must be numbers")
    try:
        return LatLon(float(lat), float(lon))
    except (ValueError, OverflowError) as exc:  # OverflowError: a whole number too large for a float
        raise FieldError(name, str(exc)) from None


MAX_ACCURACY_M = 1_000_000


def phone_fix(raw: Any) -> tuple[LatLon, float | None]:
    """A phone's `{lat, lon, accuracy_m?}` (a check-in's or a clock event's `location`) as the point and its accuracy in
    metres; FieldError naming `location` otherwise (an accuracy outside 0..`MAX_ACCURACY_M`, NaN, too large a number)."""
    try:
        location = LatLon(float(raw["lat"]), float(raw["lon"]))
        accuracy = float(raw["accuracy_m"]) if raw.get("accuracy_m") is not None else None
    except (TypeError, KeyError, ValueError, AttributeError, OverflowError) as exc:
        raise FieldError("location", f"expected {{lat, lon, accuracy_m}}: {exc}") from None
    if accuracy is not None and not 0 <= accuracy < MAX_ACCURACY_M:  # NaN fails the comparison too
        raise FieldError("location", f"accuracy_m must be within 0..{MAX_ACCURACY_M}")
    return location, accuracy


def text_list(body: Mapping[str, Any], name: str, *, max_items: int, max_len: int) -> tuple[str, ...]:
    """`body[name]` as a list of non-empty texts (at most `max_items`, each at most `max_len` characters)."""
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(name, "must be a list of texts")
    if len(value) > max_items:
        raise FieldError(name, f"holds more than {max_items} items")
    items = tuple(v.strip() for v in value)
    for item in items:
        if not item:
            raise FieldError(name, "must not hold an empty item")
        if len(item) > max_len or any(ord(c) < 32 for c in item):
            raise FieldError(name, f"{item[:40]!r} is longer than {max_len} characters or holds control characters")
    return items


def id_list(body: Mapping[str, Any], name: str, *, max_items: int = 100) -> tuple[int, ...]:
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > max_items:
        raise FieldError(name, f"must be a list of at most {max_items} ids")
    return tuple(sorted({whole(v, name) for v in value}))


def day(body: Mapping[str, Any], name: str) -> date:
    value = body.get(name)
    if not isinstance(value, str):
        raise FieldError(name, "is required, as a date YYYY-MM-DD")
    try:
        found = date.fromisoformat(value)
    except ValueError:
        raise FieldError(name, f"{value[:40]!r} is not a date YYYY-MM-DD") from None
    if (why := outside_calendar(found)) is not None:
        raise FieldError(name, why)
    return found

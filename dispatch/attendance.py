"""Attendance, the pure part: clock-in/out policy and place, late entries, the day's report.

- Clock-in/out (`OUTFIELD_CLOCK_IN`): `required` (the page asks for it before the day's first action and a
  doubtful one raises the same suspicious flag as a check-in), `optional` (offered, verified the same way),
  `off`. Its place is the worker's home base, else the day's first site (`clock_place`), verified like a
  check-in (`dispatch.checkin.verify_checkin`) with a wider circle (`CLOCK_RADIUS_M`).
- A late entry (补录) is a missed check-in or check-out entered afterwards with the real time and a reason
  (`late_entry_problem` says what is wrong with one); it counts only once a manager approved it.
- The day's report (`day_report_problem`, `prefilled_report`): what was done, problems, kilometres, notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from dispatch.geo import LatLon
from dispatch.sites import Site

CLOCK_RADIUS_M = 300.0
"""How far from the home base (or first site) a clock-in still counts as there: a car park, a depot's yard."""
MAX_REASON_CHARS = 1000
MIN_REASON_CHARS = 3
MAX_LATE_ENTRY_AGE = timedelta(days=7)
"""How far back a late entry may be made: a week, so last week's timesheets are not re-opened forever."""
MAX_REPORT_CHARS = 4000
MAX_KM = 2000.0


class ClockPolicy(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an input is refused: the field it is about and the reason, for a 4xx answer."""

    field: str
    reason: str


def clock_place(home_base: LatLon | None, first_site: Site | None) -> Site | None:
    """What a clock-in is verified against: the home base, else the day's first site, else nothing."""
    if home_base is not None:
        return Site(id=0, name="home base", address="", location=home_base, geofence_radius_m=CLOCK_RADIUS_M)
    if first_site is not None:
        radius = max(first_site.geofence_radius_m, CLOCK_RADIUS_M)
        return Site(id=first_site.id, name=first_site.name, address=first_site.address, location=first_site.location,
                    geofence_radius_m=radius)  # fmt: skip
    return None


def late_entry_problem(*, kind: str, at: datetime, reason: str, now: datetime) -> Problem | None:
    """What is wrong with a late entry of a check-`kind` ("in" / "out") at `at`, entered at `now`; None: fine."""
    if kind not in ("in", "out"):
        return Problem("kind", f"{kind[:20]!r} is not one of in, out")
    if at > now:
        return Problem("at", "a late entry is for a time that has passed, not a future one")
    if now - at > MAX_LATE_ENTRY_AGE:
        return Problem("at", f"more than {MAX_LATE_ENTRY_AGE.days} days ago: ask your manager")
    text = reason.strip()
    if len(text) < MIN_REASON_CHARS:
        return Problem("reason", f"required: say why it was missed (at least {MIN_REASON_CHARS} characters)")
    if len(text) > MAX_REASON_CHARS:
        return Problem("reason", f"at most {MAX_REASON_CHARS} characters")
    return None


def day_report_problem(
    *, done: str, problems: str, notes: str, km: float | None, day: date, today: date
) -> Problem | None:
    """What is wrong with a day's report; None: fine. The day must not be in the future."""
    for name, text in (("done", done), ("problems", problems), ("notes", notes)):
        if len(text) > MAX_REPORT_CHARS:
            return Problem(name, f"at most {MAX_REPORT_CHARS} characters")
    if km is not None and not 0.0 <= km <= MAX_KM:
        return Problem("km", f"{km:g} is not within 0..{MAX_KM:g}")
    if day > today:
        return Problem("day", f"{day.isoformat()} has not begun yet")
    if not (done.strip() or problems.strip() or notes.strip()):
        return Problem("done", "required: say what was done (or a problem, or a note)")
    return None


@dataclass(frozen=True, slots=True)
class DoneOrder:
    """An order of the day as the report's prefill lists it."""

    order_id: int
    site_name: str
    status: str


def prefilled_report(orders: Sequence[DoneOrder], km: float | None) -> dict[str, object]:
    """The day's report as the page first shows it: done orders listed, failed ones as problems, the km driven."""
    done = [f"{o.site_name} (#{o.order_id})" for o in orders if o.status == "done"]
    failed = [f"{o.site_name} (#{o.order_id}): not done" for o in orders if o.status == "failed"]
    return {
        "done": "\n".join(done),
        "problems": "\n".join(failed),
        "km": round(km, 1) if km is not None else None,
        "order_ids": [o.order_id for o in orders if o.status in ("done", "failed")],
    }

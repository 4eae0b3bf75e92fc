"""How much to trust a check-in: a score from 0 to 100 and the reasons that lowered it.

`dispatch.checkin.verify_checkin` gives a check-in one verdict; this module weighs every piece of
evidence at once, so a dispatcher or manager sees *why* a check-in is doubtful and by how much:

- where: the fix's distance beyond the site's geofence against the fix's own accuracy, or no fix;
- how fresh: the fix's age at the moment of the check-in;
- when: the check-in time against the order's window (early / late);
- the device's own word: a mock location;
- the track: an impossible jump in the worker's recent fixes (`impossible_jump`);
- the phone's clock against the server's (a phone set back an hour can fake an on-time visit);
- photos: their EXIF time and GPS position against the check-in's time and place.

Each reason is `(code, points_lost, text)`, with numbers and units in the text. The score is 100
minus the points lost, never below 0. A photo without EXIF costs nothing: the field page re-encodes
large photos and drops EXIF, so its absence is no evidence either way.

Everything here is pure: the caller gathers the evidence (from the action, the stored track, the
photos) and passes values, including the times.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

from dispatch.geo import LatLon, haversine_m
from dispatch.localtime import clock_and_zone
from dispatch.orders import TimeWindow


@dataclass(frozen=True, slots=True)
class ConfidenceWeights:
    """Points each doubt costs (out of 100) and the limits beyond which it counts.

    Defaults: a check-in with no location, a mock location or a fix clearly outside the geofence
    falls below the review threshold (60) on that alone; a stale fix, an early or late check-in, a
    phone clock that is off, or a doubtful photo lowers the score without sending it to review alone.
    """

    no_location_points: int = 60
    outside_points: int = 45  # outside the geofence by more than the fix's accuracy
    outside_within_accuracy_points: int = 15  # outside, but within the fix's own uncertainty
    poor_accuracy_points: int = 20  # accuracy worse than max_accuracy_m, or not reported
    max_accuracy_m: float = 100.0
    fix_age_points: int = 25  # all of it at max_fix_age_s; none up to fix_age_free_s; linear between
    fix_age_free_s: float = 60.0
    max_fix_age_s: float = 600.0
    early_points: int = 15
    max_early_s: float = 1800.0  # how long before the window opens a check-in is still fine
    late_points: int = 15
    max_late_s: float = 0.0  # how long after the window closes
    mock_points: int = 50
    jump_points: int = 35
    max_speed_mps: float = 70.0  # 252 km/h: faster than any field worker between two fixes
    clock_points: int = 15
    max_clock_offset_s: float = 120.0
    photo_time_points: int = 20
    photo_before_s: float = 1800.0  # a photo may be taken this long before the check-in ...
    photo_after_s: float = 4 * 3600.0  # ... and this long after it
    photo_place_points: int = 25
    photo_max_distance_m: float = 250.0

    def __post_init__(self) -> None:
        for name in (
            "no_location_points", "outside_points", "outside_within_accuracy_points", "poor_accuracy_points",
            "fix_age_points", "early_points", "late_points", "mock_points", "jump_points", "clock_points",
            "photo_time_points", "photo_place_points",
        ):  # fmt: skip
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ValueError(f"{name} {value!r} must be within 0..100")
        for name in (
            "max_accuracy_m", "fix_age_free_s", "max_early_s", "max_late_s", "max_speed_mps", "max_clock_offset_s",
            "photo_before_s", "photo_after_s", "photo_max_distance_m",
        ):  # fmt: skip
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} {value!r} must be >= 0")
        if not self.max_fix_age_s > self.fix_age_free_s:
            raise ValueError(f"max_fix_age_s {self.max_fix_age_s!r} must be > fix_age_free_s {self.fix_age_free_s!r}")
        if not self.max_speed_mps > 0:
            raise ValueError(f"max_speed_mps {self.max_speed_mps!r} must be > 0")


class Reason(NamedTuple):
    """One thing that lowered the score: a stable code, the points it cost, and what a person reads."""

    code: str
    points_lost: int
    text: str


@dataclass(frozen=True, slots=True)
class Confidence:
    score: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Fix:
    """One position of the worker's recent track (or the check-in's own fix)."""

    at: datetime
    point: LatLon
    accuracy_m: float | None = None


@dataclass(frozen=True, slots=True)
class Jump:
    """Two consecutive fixes too far apart for the time between them (accuracy margins taken off)."""

    at: datetime  # the second fix's time
    distance_m: float
    seconds: float
    speed_mps: float


@dataclass(frozen=True, slots=True)
class PhotoEvidence:
    """What a photo's EXIF says: when it was taken (DateTimeOriginal, in UTC) and where (GPS)."""

    photo_id: int
    taken_at: datetime | None = None
    location: LatLon | None = None


@dataclass(frozen=True, slots=True)
class CheckinEvidence:
    """Everything known about one check-in when it is scored.

    `outside_by_m` is how far the fix lies beyond the geofence (0 inside), None without a fix;
    `fix_age_s` how old the fix was at `at` (None when unknown); `clock_offset_s` the phone's clock
    minus the server's (positive: the phone is ahead), None when unknown; `place` where the check-in
    happened (its fix, else the site) for comparing photos.
    """

    at: datetime
    site_name: str
    outside_by_m: float | None
    accuracy_m: float | None = None
    fix_age_s: float | None = None
    window: TimeWindow | None = None
    mock: bool = False
    jump: Jump | None = None
    clock_offset_s: float | None = None
    place: LatLon | None = None
    photos: tuple[PhotoEvidence, ...] = ()
    zone: tzinfo = UTC
    """Whose clock the reasons give times on (the worker's, else the office's), the zone named beside each."""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        if self.outside_by_m is not None and not self.outside_by_m >= 0:
            raise ValueError(f"outside_by_m {self.outside_by_m!r} must be >= 0")
        if self.accuracy_m is not None and not self.accuracy_m >= 0:
            raise ValueError(f"accuracy_m {self.accuracy_m!r} must be >= 0")


def score_checkin(evidence: CheckinEvidence, weights: ConfidenceWeights | None = None) -> Confidence:
    """The check-in's score (100 minus the points lost, at least 0) and the reasons, in the order above."""
    w = weights or ConfidenceWeights()
    reasons = [
        *_place(evidence, w),
        *_fix_age(evidence, w),
        *_timing(evidence, w),
        *_mock(evidence, w),
        *_jump(evidence, w),
        *_clock(evidence, w),
        *_photos(evidence, w),
    ]
    kept = tuple(r for r in reasons if r.points_lost > 0)
    return Confidence(max(0, 100 - sum(r.points_lost for r in kept)), kept)


def needs_review(score: int, threshold: int) -> bool:
    """A check-in scoring under `threshold` goes to a manager's review queue."""
    return score < threshold


def impossible_jump(fixes: Iterable[Fix], *, max_speed_mps: float) -> Jump | None:
    """The fastest move between consecutive fixes (by time) that no worker could make, or None.

    The distance is taken less both fixes' accuracy (a vague fix may be nearer than it says), and
    two fixes at the same time count only when they are apart by more than that margin.
    """
    ordered = sorted(fixes, key=lambda f: f.at)
    worst: Jump | None = None
    for a, b in zip(ordered, ordered[1:], strict=False):
        margin_m = (a.accuracy_m or 0.0) + (b.accuracy_m or 0.0)
        distance_m = haversine_m(a.point, b.point)
        apart_m = distance_m - margin_m
        if apart_m <= 0:
            continue
        seconds = (b.at - a.at).total_seconds()
        speed = math.inf if seconds <= 0 else apart_m / seconds
        if speed > max_speed_mps and (worst is None or speed > worst.speed_mps):
            worst = Jump(b.at, distance_m, seconds, speed)
    return worst


def _place(e: CheckinEvidence, w: ConfidenceWeights) -> list[Reason]:
    if e.outside_by_m is None:
        return [Reason("no_location", w.no_location_points, "no location was sent with the check-in")]
    reasons: list[Reason] = []
    acc = e.accuracy_m
    if e.outside_by_m > 0:
        if acc is not None and e.outside_by_m > acc:
            reasons.append(
                Reason(
                    "outside_geofence",
                    w.outside_points,
                    f"the fix is {distance_text(e.outside_by_m)} outside the geofence of {e.site_name}, "
                    f"beyond its ±{acc:.0f} m accuracy",
                )
            )
        else:
            within = f"within its ±{acc:.0f} m accuracy" if acc is not None else "accuracy not reported"
            reasons.append(
                Reason(
                    "outside_geofence_within_accuracy",
                    w.outside_within_accuracy_points,
                    f"the fix is {distance_text(e.outside_by_m)} outside the geofence of {e.site_name}, {within}",
                )
            )
    if acc is None:
        reasons.append(Reason("poor_accuracy", w.poor_accuracy_points, "the fix's accuracy was not reported"))
    elif acc > w.max_accuracy_m:
        reasons.append(
            Reason(
                "poor_accuracy",
                w.poor_accuracy_points,
                f"the fix's accuracy ±{acc:.0f} m is worse than {w.max_accuracy_m:.0f} m",
            )
        )
    return reasons


def _fix_age(e: CheckinEvidence, w: ConfidenceWeights) -> list[Reason]:
    if e.fix_age_s is None or e.outside_by_m is None or e.fix_age_s <= w.fix_age_free_s:
        return []
    share = min(1.0, (e.fix_age_s - w.fix_age_free_s) / (w.max_fix_age_s - w.fix_age_free_s))
    points = max(1, round(w.fix_age_points * share)) if w.fix_age_points else 0
    return [
        Reason(
            "fix_age",
            points,
            f"the fix was {duration_text(e.fix_age_s)} old at the check-in "
            f"(fresh up to {duration_text(w.fix_age_free_s)})",
        )
    ]


def _timing(e: CheckinEvidence, w: ConfidenceWeights) -> list[Reason]:
    if e.window is None:
        return []
    early_s = (e.window.start - e.at).total_seconds()
    late_s = (e.at - e.window.end).total_seconds()
    if early_s > w.max_early_s:
        return [
            Reason(
                "early",
                w.early_points,
                "checked in {} before the window opens at {} {} (limit {})".format(
                    duration_text(early_s), *clock_and_zone(e.window.start, e.zone), duration_text(w.max_early_s)
                ),
            )
        ]
    if late_s > w.max_late_s:
        return [
            Reason(
                "late",
                w.late_points,
                "checked in {} after the window closed at {} {}".format(
                    duration_text(late_s), *clock_and_zone(e.window.end, e.zone)
                ),
            )
        ]
    return []


def _mock(e: CheckinEvidence, w: ConfidenceWeights) -> list[Reason]:
    return [Reason("mock_location", w.mock_points, "the device reported a mock location")] if e.mock else []


def _jump(e: CheckinEvidence, w: ConfidenceWeights) -> list[Reason]:
    j = e.jump
    if j is None:
        return []
    speed = "at once" if math.isinf(j.speed_mps) else f"{j.speed_mps:.0f} m/s, limit {w.max_speed_mps:.0f} m/s"
    return [
        Reason(
            "impossible_jump",
            w.jump_points,
            "the track jumped {} in {} ({}) at {} {}".format(
                distance_text(j.distance_m), duration_text(j.seconds), speed, *clock_and_zone(j.at, e.zone, "%H:%M:%S")
            ),
        )
    ]


def _clock(e: CheckinEvidence, w: ConfidenceWeights) -> list[Reason]:
    off = e.clock_offset_s
    if off is None or abs(off) <= w.max_clock_offset_s:
        return []
    side = "ahead of" if off > 0 else "behind"
    return [
        Reason(
            "clock_offset",
            w.clock_points,
            f"the phone's clock is {duration_text(abs(off))} {side} the server's "
            f"(limit {duration_text(w.max_clock_offset_s)})",
        )
    ]


def _photos(e: CheckinEvidence, w: ConfidenceWeights) -> list[Reason]:
    """The worst photo by time and the worst by place, one reason each (more photos never cost more)."""
    reasons: list[Reason] = []
    timed = [(p, (p.taken_at - e.at).total_seconds()) for p in e.photos if p.taken_at is not None]
    off_time = [(p, d) for p, d in timed if d < -w.photo_before_s or d > w.photo_after_s]
    if off_time:
        photo, delta = max(off_time, key=lambda pd: abs(pd[1]))
        side = "before" if delta < 0 else "after"
        assert photo.taken_at is not None
        reasons.append(
            Reason(
                "photo_time",
                w.photo_time_points,
                f"photo {photo.photo_id} was taken {duration_text(abs(delta))} {side} the check-in "
                "(EXIF {} {}; ".format(*clock_and_zone(photo.taken_at, e.zone, "%Y-%m-%d %H:%M"))
                + f"expected from {duration_text(w.photo_before_s)} "
                f"before to {duration_text(w.photo_after_s)} after)",
            )
        )
    if e.place is not None:
        place = e.place
        placed = [(p, haversine_m(place, p.location)) for p in e.photos if p.location is not None]
        far = [(p, d) for p, d in placed if d > w.photo_max_distance_m]
        if far:
            photo, distance = max(far, key=lambda pd: pd[1])
            reasons.append(
                Reason(
                    "photo_place",
                    w.photo_place_points,
                    f"photo {photo.photo_id} was taken {distance_text(distance)} from the check-in "
                    f"(EXIF GPS; limit {distance_text(w.photo_max_distance_m)})",
                )
            )
    return reasons


def distance_text(metres: float) -> str:
    """'250 m', '2.4 km'."""
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def duration_text(seconds: float) -> str:
    """'45 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s < 600 and s % 60 else "")
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def reasons_json(reasons: Sequence[Reason]) -> list[list[object]]:
    """The reasons as JSON-ready [code, points_lost, text] lists."""
    return [[r.code, r.points_lost, r.text] for r in reasons]

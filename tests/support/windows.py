"""An order's time window that is open now, at whatever hour of the day the tests run.

A window at fixed hours of "today" (00:05 to 23:59:59 UTC) made a check-in in the first minutes after
midnight, or one a few seconds after a window made just before it, read as early or late. This one is
around now: the test and the console server it talks to read the same machine clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

BEFORE = timedelta(hours=1)
AFTER = timedelta(hours=3)


def open_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """From an hour before `now` (the machine's clock by default) to three hours after: the tests' check-ins
    and fixes (up to 50 min back) fall inside it, and it overlaps the UTC day of now."""
    at = now or datetime.now(UTC)
    return at - BEFORE, at + AFTER


def window_fields(window: tuple[datetime, datetime] | None = None) -> dict[str, str]:
    """`window_start` and `window_end` of a work-order body, ISO 8601; `open_window()` by default."""
    start, end = window or open_window()
    return {"window_start": start.isoformat(), "window_end": end.isoformat()}

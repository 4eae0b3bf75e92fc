"""The API's error reasons as the catalogue knows them, so a zh-CN reader gets them in Chinese.

The reasons themselves are written where the failure is found (`deny(400, f"{name}: missing", name)`);
an `after_request` hook in `console/i18n.py` translates the `error` of a 4xx answer for a reader who
asked for another language. A reason is looked up whole, then against these templates (`{name}`
matches any text), after the "field: " prefix the API keeps in English. A reason listed nowhere
stays English. Add a template here when you add a reason, and its translation to the catalogues.
"""

from __future__ import annotations

from typing import Final

from console.i18n import N_

TEMPLATES: Final = (
    N_("not authenticated"),
    N_("role {role} may not {action}"),
    N_("a field worker may only {action} of their own record"),
    N_("missing"),
    N_("missing or not a whole number"),
    N_("expected a JSON object"),
    N_("expected a JSON object (Content-Type: application/json)"),
    N_("expected a JSON object, got {kind}"),
    N_("{value} is not an id (1..{largest})"),
    N_("{value} is not a whole number"),
    N_("{value} is not within 1..5 (1 = most urgent)"),
    N_("must be after window_start"),
    N_("expected text"),
    N_("expected a list of skill names"),
    N_("expected text of at most 100 characters"),
    N_("missing (ISO 8601 with a time zone, e.g. 2025-03-03T09:00:00Z)"),
    N_("{value} is not an ISO 8601 time"),
    N_("{value} has no time zone (add Z or +hh:mm)"),
    N_("{value} is not within the years 2000..2099"),
    N_("no API route {path}"),
    N_("{method} is not allowed here (use {allowed})"),
    N_("pick a date"),
    N_("enter a time of day (HH:MM)"),
    N_("{value} is not a time of day (HH:MM)"),
    N_("{when} does not exist in {zone}: the clocks go forward then"),
    N_("the link is not one we issued"),
    N_("this link has been revoked"),
    N_("the order no longer exists"),
    N_("larger than {limit} bytes"),
)

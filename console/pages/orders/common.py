"""What every part of the order panel shares: tab names, the selection store's shape, words for people."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from dash import html
from dash_extensions.javascript import Namespace

from console import i18n
from console.i18n import N_
from dispatch.access import Action, Actor
from dispatch.orders import TimeWindow

NS = Namespace("outfield")

TAB_WORKERS, TAB_ORDERS, TAB_NEW_ORDER = "workers", "orders", "new"
EMPTY_LAYER: dict[str, Any] = {"type": "FeatureCollection", "features": []}
NO_ORDER_HINT = N_("Select an order in the list or on the map.")

_FIELD_PREFIX = re.compile(r"^[a-z_]+: ")


class Authoriser(Protocol):
    """What the callbacks need of `console.auth.Auth`: the calling actor if allowed, else ApiError."""

    def require(self, action: Action, *, worker_id: int | None = None) -> Actor: ...


def selected_order_id(selected: Any) -> int | None:
    """The order id in the selection store, or None."""
    if isinstance(selected, Mapping):
        value = selected.get("order_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def minutes_text(seconds: float) -> str:
    """A duration for a person: '<1 min', '7 min', '2 h 05 min'."""
    if seconds < 60:
        return "<" + i18n.reason("1 min")
    total = round(seconds / 60)
    if total < 120:
        return i18n.reason(f"{total} min")
    return i18n.reason(f"{total // 60} h {total % 60:02d} min")


def window_text(window: TimeWindow) -> str:
    """'Tue 04 Mar 09:00–11:00 CET' on the office's clock, or both dates when the window spans midnight there."""
    return i18n.window_words(window.start, window.end)


def distance_text(metres: float) -> str:
    """'350 m', '1.2 km'."""
    return i18n.reason(f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km")


def humanise(reason: str) -> str:
    """A refusal as a sentence: without the leading 'field: ' the API keeps, capitalised."""
    reason = i18n.translate_reason(reason.strip().strip("'\""), language=i18n.current_language())
    text = _FIELD_PREFIX.sub("", reason, count=1)
    return text[:1].upper() + text[1:]


def reason_text(exc: Exception) -> str:
    """The reason an expected failure carries, as the API words it (`dispatch.errors.AppError`'s text)."""
    return str(exc)


def error_message(text: str) -> html.P:
    return html.P(humanise(text), className="error")


def refused_notice(reason: str) -> dict[str, Any]:
    return {"kind": "refused", "text": humanise(reason)}

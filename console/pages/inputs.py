"""A Dash callback's inputs read as what the page sends, whatever a forged `_dash-update-component` call carries.

The renderer sends what the components hold, but the call is plain JSON any client can write: a list where
the page keeps an id, an object where it keeps text. These readers give the value when it has the page's
shape and None (or nothing: an empty tuple, zero) when it does not, so a callback treats a forged value as
"nothing picked" instead of failing with a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dispatch.errors import MAX_ID


def picked_id(value: object) -> int | None:
    """An id a dropdown, a store or a pattern id holds (a whole number, or its decimal text), within 1..MAX_ID."""
    if isinstance(value, str) and value.isascii() and value.isdecimal():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value


def count(value: object) -> int:
    """A counter the page keeps (n_clicks, a store's version): a whole number of at least 0, else 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def text(value: object) -> str | None:
    """Text a field or a dropdown holds, else None."""
    return value if isinstance(value, str) else None


def texts(value: object) -> tuple[str, ...]:
    """The texts a multi-select or a checklist holds; () for anything else (a forged item makes the whole value void)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def mapping(value: object) -> Mapping[str, Any] | None:
    """An object a store or an event holds, else None."""
    return value if isinstance(value, Mapping) else None


def text_beside(values: object, ids: object, index: int) -> str:
    """The text of the pattern-matched field whose id has `index` (the note beside a queue's buttons), else ""."""
    if not isinstance(values, list) or not isinstance(ids, list):
        return ""
    for value, ident in zip(values, ids, strict=False):
        if isinstance(ident, Mapping) and ident.get("index") == index:
            return value if isinstance(value, str) else ""
    return ""

"""The one error type for expected failures, raised in every layer and answered the same way at every edge.

A use case, a parser or a handler that refuses a request raises `AppError(status, error, field)`:
the HTTP status it answers with, the text of the answer's `error` and the request field at fault
(None when the request as a whole is refused). `console/http_errors.py` registers the single
handler that turns one into the JSON answer `{"error": ..., "field": ...}` for the REST API and the
field API; Dash callbacks catch it and show `str(error)`. The older names (`ApiError`,
`FieldError`, `IngestError`, `PlanRefused`, ...) are subclasses that keep their constructors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn

MAX_ID: Final = 2**63 - 1
"""The largest id any table holds (signed 64-bit): a larger one is refused naming its field."""


class AppError(Exception):
    """An expected failure: `status` (HTTP), `field` at fault (or None), `str(error)` the reason shown.

    `extra` carries further keys of the answer (a refused plan's `violations`).
    """

    status: int
    reason: str
    field: str | None

    def __init__(
        self, status: int, error: str, field: str | None = None, *, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(error)
        self.status = status
        self.reason = error
        self.field = field
        self.extra: dict[str, Any] = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON answer: `{"error": str(self)}`, plus `field` when one is at fault, plus `extra`."""
        out: dict[str, Any] = {"error": str(self)}
        if self.field is not None:
            out["field"] = self.field
        out.update(self.extra)
        return out


class InputError(AppError, ValueError):
    """A field of the request is unusable (400): `str(error)` is `"<field>: <reason>"`, `reason` the part after."""

    def __init__(self, field: str, reason: str, *, status: int = 400) -> None:
        super().__init__(status, f"{field}: {reason}", field)
        self.reason = reason


def deny(status: int, reason: str, field: str | None = None) -> NoReturn:
    """Refuse the request: raise `AppError(status, reason, field)`."""
    raise AppError(status, reason, field)

"""Office users as an administrator creates and changes them: name, role, teams, active, password."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatch.access import Role
from dispatch.fields import FieldError, boolean, id_list, optional_id, refuse_unknown, text

USER_FIELDS = ("name", "role", "password", "teams", "worker_id", "active")
MIN_PASSWORD = 10
"""The shortest password an administrator may set (a generated one is longer)."""


@dataclass(frozen=True, slots=True)
class UserInput:
    """A user's fields as sent; `given` names those present (an update changes only them)."""

    given: frozenset[str]
    name: str = ""
    role: Role = Role.DISPATCHER
    password: str | None = None
    teams: tuple[int, ...] = ()
    worker_id: int | None = None
    active: bool = True


def password_value(body: Mapping[str, Any], name: str = "password") -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise FieldError(name, "must be text")
    if len(value) < MIN_PASSWORD:
        raise FieldError(name, f"must be at least {MIN_PASSWORD} characters")
    if len(value) > 200:
        raise FieldError(name, "is longer than 200 characters")
    return value


def user_input(body: Mapping[str, Any], *, creating: bool) -> UserInput:
    """Read a user's fields from `body`; FieldError naming the first bad one.

    Creating needs `name` and `role`; `password` is optional (a user without one signs in with API
    tokens only). The name and the worker link are fixed once created.
    """
    known = USER_FIELDS if creating else ("role", "teams", "active")
    refuse_unknown(body, known)
    if creating:
        for required in ("name", "role"):
            if body.get(required) is None:
                raise FieldError(required, "is required")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = text(body, "name", max_len=100, required=True)
    if "role" in body:
        raw = body["role"]
        if not isinstance(raw, str) or raw not in {r.value for r in Role}:
            raise FieldError("role", f"must be one of {', '.join(r.value for r in Role)}")
        values["role"] = Role(raw)
    if body.get("password") is not None:
        values["password"] = password_value(body)
    if "teams" in body:
        values["teams"] = id_list(body, "teams")
    if "worker_id" in body:
        values["worker_id"] = optional_id(body, "worker_id")
    if "active" in body:
        values["active"] = boolean(body, "active")
    return UserInput(given=frozenset(values), **values)

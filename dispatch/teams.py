"""Teams: named groups of workers, and of the office users who answer for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatch.fields import FieldError, boolean, refuse_unknown, text


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    name: str
    active: bool = True


def team_name(raw: str) -> str:
    """A team's name, stripped; ValueError naming `name` when empty, too long or holding control characters."""
    return text({"name": raw}, "name", max_len=100, required=True)


TEAM_FIELDS = ("name", "active")


@dataclass(frozen=True, slots=True)
class TeamInput:
    given: frozenset[str]
    name: str = ""
    active: bool = True


def team_input(body: Mapping[str, Any], *, creating: bool) -> TeamInput:
    """A team's fields from `body`; FieldError naming the first bad one (creating needs `name`)."""
    refuse_unknown(body, TEAM_FIELDS)
    if creating and body.get("name") is None:
        raise FieldError("name", "is required")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = text(body, "name", max_len=100, required=True)
    if "active" in body:
        values["active"] = boolean(body, "active")
    return TeamInput(given=frozenset(values), **values)

"""Custom service-report forms per order type, and the answers a worker gives to one.

A form is versioned: a manager saving a changed form makes a new version, and a report keeps the
version it was filled with, so its answers keep their meaning. Definitions and answers arrive as
plain JSON; `parse_definition` and `check_answers` turn them into values or into problems that name
the field at fault (`fields[2].choices`, `answers.meter`), in the house's "failures are values" way.
A report that needs a manager's approval moves through `ReportStatus` by `review_report`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dispatch.fields import FieldError, refuse_unknown

MAX_FIELDS = 50
MAX_CHOICES = 30
MAX_LABEL_CHARS = 200
MAX_NAME_CHARS = 120
MAX_TEXT_ANSWER_CHARS = 5000
MAX_PHOTOS_PER_FIELD = 10
FIELD_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SIGNATURE_PREFIX = "data:image/png;base64,"


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    CHECKBOX = "checkbox"
    PHOTO = "photo"
    SIGNATURE = "signature"


@dataclass(frozen=True, slots=True)
class FormField:
    """One question. `choices` only for CHOICE; `min_value`/`max_value` (inclusive) only for NUMBER."""

    id: str
    label: str
    type: FieldType
    required: bool = False
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True, slots=True)
class FormDefinition:
    """A form of an order type, as a manager saved it (version 1, 2, … per order type)."""

    order_type: str
    version: int
    name: str
    fields: tuple[FormField, ...]
    needs_approval: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a definition or an answer was refused, naming the field (`fields[2].choices`, `answers.meter`)."""

    field: str
    reason: str


DEFINITION_KEYS = ("name", "needs_approval", "fields")
FIELD_KEYS = ("id", "label", "type", "required", "choices", "min", "max")


def parse_definition(raw: Any, *, order_type: str, version: int) -> FormDefinition | Problem:
    """A definition from JSON `{"name", "needs_approval", "fields": [{id, label, type, required, choices, min, max}]}`."""
    if not isinstance(raw, Mapping):
        return Problem("body", "expected an object with name and fields")
    name = raw.get("name", "")
    if not isinstance(name, str) or not name.strip():
        return Problem("name", "required: the form's name")
    if len(name) > MAX_NAME_CHARS:
        return Problem("name", f"longer than {MAX_NAME_CHARS} characters")
    approval = raw.get("needs_approval", False)
    if not isinstance(approval, bool):
        return Problem("needs_approval", "expected true or false")
    items = raw.get("fields")
    if not isinstance(items, list) or not items:
        return Problem("fields", "expected a list of at least one field")
    if len(items) > MAX_FIELDS:
        return Problem("fields", f"more than {MAX_FIELDS} fields")
    fields: list[FormField] = []
    for i, item in enumerate(items):
        parsed = _parse_field(item, f"fields[{i}]")
        if isinstance(parsed, Problem):
            return parsed
        if any(f.id == parsed.id for f in fields):
            return Problem(f"fields[{i}].id", f"{parsed.id!r} is used by another field")
        fields.append(parsed)
    return FormDefinition(order_type, version, name.strip(), tuple(fields), approval)


def _parse_field(item: Any, at: str) -> FormField | Problem:
    if not isinstance(item, Mapping):
        return Problem(at, "expected an object with id, label and type")
    try:
        refuse_unknown(item, FIELD_KEYS)
    except FieldError as exc:
        return Problem(f"{at}.{exc.field}", exc.reason)
    field_id = item.get("id")
    if not isinstance(field_id, str) or not FIELD_ID.match(field_id):
        return Problem(f"{at}.id", "expected 1-40 lower-case letters, digits or _ starting with a letter")
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        return Problem(f"{at}.label", "required: the question the worker sees")
    if len(label) > MAX_LABEL_CHARS:
        return Problem(f"{at}.label", f"longer than {MAX_LABEL_CHARS} characters")
    try:
        kind = FieldType(str(item.get("type")))
    except ValueError:
        return Problem(f"{at}.type", f"{str(item.get('type'))[:40]!r} is not one of {', '.join(FieldType)}")
    required = item.get("required", False)
    if not isinstance(required, bool):
        return Problem(f"{at}.required", "expected true or false")
    choices: tuple[str, ...] = ()
    if kind is FieldType.CHOICE:
        raw_choices = item.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            return Problem(f"{at}.choices", "a choice field needs a list of at least one choice")
        if len(raw_choices) > MAX_CHOICES:
            return Problem(f"{at}.choices", f"more than {MAX_CHOICES} choices")
        if not all(isinstance(c, str) and c.strip() and len(c) <= MAX_LABEL_CHARS for c in raw_choices):
            return Problem(f"{at}.choices", f"every choice must be text of 1-{MAX_LABEL_CHARS} characters")
        choices = tuple(c.strip() for c in raw_choices)
        if len(set(choices)) != len(choices):
            return Problem(f"{at}.choices", "a choice is listed twice")
    elif item.get("choices"):
        return Problem(f"{at}.choices", f"only a choice field has choices, not a {kind.value} field")
    bounds: list[float | None] = []
    for key in ("min", "max"):
        value = item.get(key)
        if value is not None and kind is not FieldType.NUMBER:
            return Problem(f"{at}.{key}", f"only a number field has bounds, not a {kind.value} field")
        if value is not None and (not _is_number(value)):
            return Problem(f"{at}.{key}", "expected a number")
        bounds.append(float(value) if value is not None else None)
    low, high = bounds
    if low is not None and high is not None and low > high:
        return Problem(f"{at}.max", f"{high:g} is below the minimum {low:g}")
    return FormField(field_id, label.strip(), kind, required, choices, low, high)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_answers(
    form: FormDefinition, answers: Any, *, uploaded_photos: frozenset[str] = frozenset()
) -> list[Problem]:
    """Every problem of `answers` ({field id: value}) against `form`; empty when they are acceptable.

    Text is a string, a number a finite number within the bounds, a choice one of the choices, a
    checkbox true/false, a photo field a list of ids of photos uploaded for the order
    (`uploaded_photos`), a signature a PNG data URL. A required field needs an answer (a required
    checkbox needs ticking). Answers to fields the form does not have are refused.
    """
    if not isinstance(answers, Mapping):
        return [Problem("answers", "expected an object {field id: answer}")]
    known = {f.id for f in form.fields}
    problems = [
        Problem(f"answers.{str(key)[:40]}", f"form {form.name!r} version {form.version} has no such field")
        for key in answers
        if key not in known
    ]
    for f in form.fields:
        value = answers.get(f.id)
        problem = _check_answer(f, value, uploaded_photos)
        if problem is not None:
            problems.append(Problem(f"answers.{f.id}", problem))
    return problems


def _check_answer(f: FormField, value: Any, uploaded: frozenset[str]) -> str | None:
    if _blank(value):
        return f"required: {f.label}" if f.required else None
    match f.type:
        case FieldType.TEXT:
            if not isinstance(value, str):
                return "expected text"
            if len(value) > MAX_TEXT_ANSWER_CHARS:
                return f"longer than {MAX_TEXT_ANSWER_CHARS} characters"
        case FieldType.NUMBER:
            if not _is_number(value):
                return "expected a number"
            if f.min_value is not None and value < f.min_value:
                return f"{value:g} is below the minimum {f.min_value:g}"
            if f.max_value is not None and value > f.max_value:
                return f"{value:g} is above the maximum {f.max_value:g}"
        case FieldType.CHOICE:
            if value not in f.choices:
                return f"{str(value)[:60]!r} is not one of {', '.join(f.choices)}"
        case FieldType.CHECKBOX:
            if not isinstance(value, bool):
                return "expected true or false"
            if f.required and not value:
                return f"required: {f.label}"
        case FieldType.PHOTO:
            if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                return "expected a list of photo ids"
            if len(value) > MAX_PHOTOS_PER_FIELD:
                return f"more than {MAX_PHOTOS_PER_FIELD} photos"
            missing = [p for p in value if p not in uploaded]
            if missing:
                return f"photo {missing[0][:60]!r} was not uploaded for this order"
        case FieldType.SIGNATURE:
            if not isinstance(value, str) or not value.startswith(SIGNATURE_PREFIX):
                return "expected a signature (a PNG data URL)"
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def checklist_form(order_type: str, items: Sequence[str]) -> FormDefinition:
    """Version 1 of an order type's form: its old hard-coded checklist, one optional checkbox per item."""
    fields = tuple(FormField(field_id_for(label), label, FieldType.CHECKBOX) for label in items)
    return FormDefinition(order_type, 1, f"{order_type.capitalize()} checklist", fields)


def field_id_for(label: str) -> str:
    """A field id made from a label: "Tested after repair" -> "tested_after_repair"."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = "f_" + slug
    return slug[:40].rstrip("_")


def ticked_checklist(form: FormDefinition, answers: Mapping[str, Any]) -> dict[str, bool]:
    """The checkbox answers as {label: ticked}, the shape reports had before forms (old readers keep working)."""
    return {f.label: answers.get(f.id) is True for f in form.fields if f.type is FieldType.CHECKBOX}


class ReportStatus(StrEnum):
    SUBMITTED = "submitted"  # no approval needed: the report stands as sent
    PENDING_APPROVAL = "pending_approval"
    RETURNED = "returned"  # a manager sent it back with a note; the worker edits and resubmits
    APPROVED = "approved"


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str


def status_on_submit(form: FormDefinition | None) -> ReportStatus:
    """A report just sent waits for approval when its form says so."""
    return ReportStatus.PENDING_APPROVAL if form is not None and form.needs_approval else ReportStatus.SUBMITTED


def review_report(status: ReportStatus, decision: ReviewDecision, note: str) -> ReportStatus | Refusal:
    """The status after a manager's decision, or why it cannot be taken (nothing pending, a return without a note)."""
    if status is not ReportStatus.PENDING_APPROVAL:
        return Refusal(f"the report is {status.value.replace('_', ' ')}, not waiting for approval")
    if decision is ReviewDecision.RETURN:
        if not note.strip():
            return Refusal("note: required to return a report (say what to change)")
        return ReportStatus.RETURNED
    return ReportStatus.APPROVED

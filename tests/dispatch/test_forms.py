"""Forms per order type: definitions checked field by field, answers checked against a version, approval steps."""

from __future__ import annotations

import pytest

from dispatch.forms import (
    FieldType,
    FormDefinition,
    FormField,
    Problem,
    Refusal,
    ReportStatus,
    ReviewDecision,
    check_answers,
    checklist_form,
    parse_definition,
    review_report,
    status_on_submit,
    ticked_checklist,
)

SIGNATURE = "data:image/png;base64,iVBORw0KGgo="


def meter_form(*, needs_approval: bool = False) -> FormDefinition:
    raw = {
        "name": "Meter inspection",
        "needs_approval": needs_approval,
        "fields": [
            {"id": "outcome", "label": "Outcome", "type": "choice", "required": True, "choices": ["ok", "fault"]},
            {"id": "reading", "label": "Meter reading", "type": "number", "required": True, "min": 0, "max": 99999},
            {"id": "remarks", "label": "Remarks", "type": "text"},
            {"id": "sealed", "label": "Seal intact", "type": "checkbox", "required": True},
            {"id": "meter_photo", "label": "Photo of the meter", "type": "photo", "required": True},
            {"id": "customer", "label": "Customer signature", "type": "signature"},
        ],
    }
    form = parse_definition(raw, order_type="inspection", version=3)
    assert isinstance(form, FormDefinition), form
    return form


def test_a_definition_becomes_a_versioned_form_of_its_order_type() -> None:
    """Tests that a manager's definition keeps its fields in order with types, required marks, choices and bounds."""
    form = meter_form(needs_approval=True)
    assert (form.order_type, form.version, form.name, form.needs_approval) == (
        "inspection",
        3,
        "Meter inspection",
        True,
    )
    assert [f.id for f in form.fields] == ["outcome", "reading", "remarks", "sealed", "meter_photo", "customer"]
    assert form.fields[0] == FormField("outcome", "Outcome", FieldType.CHOICE, True, ("ok", "fault"))
    assert (form.fields[1].min_value, form.fields[1].max_value) == (0, 99999)


@pytest.mark.parametrize(
    ("fields", "problem_field", "words"),
    [
        ([{"id": "a", "label": "A", "type": "text"}, {"id": "a", "label": "B", "type": "text"}], "fields[1].id", "used by another"),
        ([{"id": "a", "label": "A", "type": "text"}, {"id": "b", "label": "B", "type": "choice"}], "fields[1].choices", "at least one choice"),
        ([{"id": "a", "label": "A", "type": "choice", "choices": ["x", "x"]}], "fields[0].choices", "twice"),
        ([{"id": "a", "label": "  ", "type": "text"}], "fields[0].label", "required"),
        ([{"id": "a", "label": "A", "type": "video"}], "fields[0].type", "'video' is not one of"),
        ([{"id": "A b", "label": "A", "type": "text"}], "fields[0].id", "lower-case"),
        ([{"id": "a", "label": "A", "type": "number", "min": 5, "max": 1}], "fields[0].max", "below the minimum"),
        ([{"id": "a", "label": "A", "type": "text", "min": 1}], "fields[0].min", "only a number field"),
        ([{"id": "a", "label": "A" * 201, "type": "text"}], "fields[0].label", "longer than 200"),
        ([{"id": f"f{i}", "label": "A", "type": "text"} for i in range(51)], "fields", "more than 50"),
        ([], "fields", "at least one field"),
        ([{"id": "a", "label": "A", "type": "text", "requird": True}], "fields[0].requird", "not a field here"),
    ],
)  # fmt: skip
def test_a_bad_definition_is_refused_naming_the_field(fields: list[object], problem_field: str, words: str) -> None:
    """Tests that duplicate ids, a choice field without choices, empty labels, unknown types, oversize forms and a
    misspelt key of a field are named."""
    problem = parse_definition({"name": "F", "fields": fields}, order_type="repair", version=1)
    assert isinstance(problem, Problem)
    assert problem.field == problem_field and words in problem.reason


def test_a_form_without_a_name_is_refused() -> None:
    """Tests that the form's name is required."""
    assert parse_definition(
        {"fields": [{"id": "a", "label": "A", "type": "text"}]}, order_type="repair", version=1
    ) == (Problem("name", "required: the form's name"))


def good_answers() -> dict[str, object]:
    return {"outcome": "ok", "reading": 1234.5, "sealed": True, "meter_photo": ["p-1"], "customer": SIGNATURE}


def test_complete_answers_are_accepted() -> None:
    """Tests that answers of the right types, within bounds and with an uploaded photo pass."""
    assert check_answers(meter_form(), good_answers(), uploaded_photos=frozenset({"p-1"})) == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"outcome": None}, "answers.outcome", "required: Outcome"),
        ({"outcome": "maybe"}, "answers.outcome", "not one of ok, fault"),
        ({"reading": -1}, "answers.reading", "below the minimum 0"),
        ({"reading": 100000}, "answers.reading", "above the maximum 99999"),
        ({"reading": "12"}, "answers.reading", "expected a number"),
        ({"reading": True}, "answers.reading", "expected a number"),
        ({"sealed": False}, "answers.sealed", "required: Seal intact"),
        ({"remarks": 5}, "answers.remarks", "expected text"),
        ({"meter_photo": ["p-9"]}, "answers.meter_photo", "'p-9' was not uploaded"),
        ({"meter_photo": []}, "answers.meter_photo", "required"),
        ({"customer": "data:text/html,<b>"}, "answers.customer", "PNG data URL"),
        ({"colour": "red"}, "answers.colour", "has no such field"),
    ],
)  # fmt: skip
def test_wrong_answers_are_refused_naming_the_field(change: dict[str, object], field: str, words: str) -> None:
    """Tests that a missing required answer, a wrong choice or type, an out-of-bounds number or a photo never uploaded is named."""
    problems = check_answers(meter_form(), good_answers() | change, uploaded_photos=frozenset({"p-1"}))
    assert [p.field for p in problems] == [field]
    assert words in problems[0].reason


def test_answers_must_be_an_object() -> None:
    """Tests that answers sent as a list are refused as a whole."""
    assert check_answers(meter_form(), ["ok"]) == [Problem("answers", "expected an object {field id: answer}")]


def test_an_old_checklist_becomes_a_version_1_form_of_optional_checkboxes() -> None:
    """Tests that the hard-coded checklist is version 1 of its type's form and reads back as the old {item: ticked}."""
    form = checklist_form("repair", ("Fault found", "Tested after repair"))
    assert (form.version, [(f.id, f.type, f.required) for f in form.fields]) == (
        1,
        [("fault_found", FieldType.CHECKBOX, False), ("tested_after_repair", FieldType.CHECKBOX, False)],
    )
    assert check_answers(form, {}) == []
    assert ticked_checklist(form, {"fault_found": True}) == {"Fault found": True, "Tested after repair": False}


def test_a_report_waits_for_approval_only_when_its_form_says_so() -> None:
    """Tests that a report is pending approval under a form needing it and simply submitted otherwise."""
    assert status_on_submit(meter_form(needs_approval=True)) is ReportStatus.PENDING_APPROVAL
    assert status_on_submit(meter_form()) is ReportStatus.SUBMITTED
    assert status_on_submit(None) is ReportStatus.SUBMITTED


def test_a_pending_report_is_approved_or_returned_with_a_note_once() -> None:
    """Tests that approval and return apply to a pending report only, and a return needs a note."""
    pending = ReportStatus.PENDING_APPROVAL
    assert review_report(pending, ReviewDecision.APPROVE, "") is ReportStatus.APPROVED
    assert review_report(pending, ReviewDecision.RETURN, "Photo is blurred") is ReportStatus.RETURNED
    assert review_report(pending, ReviewDecision.RETURN, "  ") == Refusal(
        "note: required to return a report (say what to change)"
    )
    assert review_report(ReportStatus.APPROVED, ReviewDecision.APPROVE, "") == Refusal(
        "the report is approved, not waiting for approval"
    )
    assert isinstance(review_report(ReportStatus.RETURNED, ReviewDecision.RETURN, "again"), Refusal)

"""The /forms/ page's pure pieces: the editor's rows to a definition, moving rows, answers shown as text or images."""

from __future__ import annotations

from typing import Any

from dash import html

from console.pages.forms import DOWN, REMOVE, UP, answer_view, approval_item, definition_fields, move_row


def rows() -> list[dict[str, Any]]:
    return [
        {"id": "fault_found", "label": "Fault found", "type": "checkbox", "required": False, "choices": "", "min": None, "max": None},
        {"id": None, "label": "Meter condition", "type": "choice", "required": True, "choices": "good, worn ,, broken", "min": None, "max": None},
        {"id": None, "label": "Reading", "type": "number", "required": True, "choices": "", "min": 0, "max": None},
        {"id": None, "label": "Fault found", "type": "text", "required": False, "choices": "", "min": None, "max": None},
    ]  # fmt: skip


def test_the_editor_rows_become_a_definition_with_ids_from_labels_and_choices_split() -> None:
    """Tests that a field keeps its id, a new one gets an id made from its label (unique), choices are split by comma
    and only a number keeps bounds."""
    assert definition_fields(rows()) == [
        {"id": "fault_found", "label": "Fault found", "type": "checkbox", "required": False},
        {"id": "meter_condition", "label": "Meter condition", "type": "choice", "required": True, "choices": ["good", "worn", "broken"]},
        {"id": "reading", "label": "Reading", "type": "number", "required": True, "min": 0},
        {"id": "fault_found_2", "label": "Fault found", "type": "text", "required": False},
    ]  # fmt: skip


def test_rows_move_up_and_down_and_are_removed_within_the_list() -> None:
    """Tests that up/down swap with the neighbour (not past the ends) and remove drops the row."""
    labels = lambda fields: [f["label"] for f in fields]  # noqa: E731
    assert labels(move_row(rows(), 1, UP)) == ["Meter condition", "Fault found", "Reading", "Fault found"]
    assert labels(move_row(rows(), 0, UP)) == labels(rows())
    assert labels(move_row(rows(), 3, DOWN)) == labels(rows())
    assert labels(move_row(rows(), 2, REMOVE)) == ["Fault found", "Meter condition", "Fault found"]


def test_answers_reach_the_page_as_text_photos_and_signatures_as_images() -> None:
    """Tests that typed answers stay text (markup included), a photo answer shows the uploaded photo and a signature its PNG."""
    text = answer_view({"type": "text", "label": "Remarks"}, "<img src=x onerror=alert(1)>", {})
    assert isinstance(text, html.Span) and text.children == "<img src=x onerror=alert(1)>"
    assert answer_view({"type": "checkbox"}, True, {}).children == "yes"
    (photo,) = answer_view(
        {"type": "photo", "label": "Meter"}, ["p-1", "p-unknown"], {"p-1": "/api/v1/photos/4/watermarked"}
    )
    assert photo.src == "/api/v1/photos/4/watermarked"
    signature = answer_view({"type": "signature", "label": "Signed"}, "data:image/png;base64,iVBO", {})
    assert isinstance(signature, html.Img) and signature.src == "data:image/png;base64,iVBO"
    assert (
        answer_view({"type": "signature", "label": "Signed"}, "javascript:alert(1)", {}).children
        == "javascript:alert(1)"
    )


def test_a_pending_report_shows_its_answers_and_steps_with_approve_and_return() -> None:
    """Tests that the queue item names order, site and worker, lists each answer by label and the steps with the note."""
    item = approval_item({
        "order_id": 7, "site": {"name": "Casino"}, "worker": {"name": "Ines"},
        "form": {"name": "Meter", "version": 2, "fields": [{"id": "c", "label": "Condition", "type": "choice"}]},
        "report": {"answers": {"c": "worn"}}, "photos": {},
        "steps": [{"step": "submitted", "by": "Ines", "at": "2026-12-04T09:10:00+00:00", "note": ""},
                  {"step": "returned", "by": "Mia", "at": "2026-12-04T09:20:00+00:00", "note": "look again"}],
    })  # fmt: skip
    flat = str(item.to_plotly_json())
    assert "Order #7 · Casino · Ines" in flat and "Meter (version 2)" in flat
    assert "'Condition'" in flat and "'worn'" in flat
    assert "returned by Mia at 2026-12-04 09:20 UTC: look again" in flat
    assert "ra-approve" in flat and "ra-return" in flat


def test_a_report_sent_before_forms_shows_its_ticked_checklist() -> None:
    """Tests that a pending report without a form (an old cached phone page) shows its checklist ticks."""
    item = approval_item({"order_id": 8, "site": None, "worker": None, "form": None,
                          "report": {"checklist": {"Meter read": True, "Seal intact": False}}})  # fmt: skip
    flat = str(item.to_plotly_json())
    assert "Checklist (sent before forms)" in flat
    assert "'Meter read'" in flat and "'yes'" in flat and "'Seal intact'" in flat and "'no'" in flat

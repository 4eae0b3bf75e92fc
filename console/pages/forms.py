"""The managers' forms page (/forms/): each order type's service-report form and its versions, an editor
that saves a new version, and the queue of reports waiting for approval (approve, or return with a note).

Its own Dash app on the console's server, like /review/ (see `mount`). Callbacks follow the house
pattern: who is calling and may they (`Action.MANAGE_FORMS` / `APPROVE_REPORTS`: managers and
admins), parse, call `FormsService`, present with the pure functions below. Everything a user typed
(labels, choices, answers, notes) reaches the page as text; photos and signatures as images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import flask
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from console import i18n
from console.auth import ApiError, Auth
from console.i18n import N_, _
from console.pages import inputs
from dispatch import localtime
from dispatch.access import Action, Actor, can
from dispatch.forms import FieldType, field_id_for
from dispatch.orders import OrderType
from services.forms_service import FormsError, FormsService, parse_review

PATH = "/forms/"
ORDER_TYPE = "forms-type"
VERSIONS = "forms-versions"
NAME = "forms-name"
APPROVAL = "forms-approval"
ROWS = "forms-rows"
ADD = "forms-add"
SAVE = "forms-save"
MESSAGE = "forms-message"
SAVED = "forms-saved"
QUEUE = "forms-queue"
QUEUE_MESSAGE = "forms-queue-message"
DECIDED = "forms-decided"
# One editor row per field; `index` is its position.
KEY, LABEL, TYPE, REQUIRED, CHOICES, LOW, HIGH = (
    "ff-key",
    "ff-label",
    "ff-type",
    "ff-required",
    "ff-choices",
    "ff-min",
    "ff-max",
)
UP, DOWN, REMOVE = "ff-up", "ff-down", "ff-remove"
NOTE, APPROVE, RETURN = "ra-note", "ra-approve", "ra-return"
ROW_STATES = (KEY, LABEL, TYPE, REQUIRED, CHOICES, LOW, HIGH)
ROW_PROPS = {KEY: "data", REQUIRED: "value"}


def mount(server: flask.Flask, *, auth: Auth, forms: FormsService, assets_dir: Path) -> Dash:
    """The forms page's Dash app at `PATH` on `server`, with its layout and callbacks."""
    app = Dash(
        "outfield-forms",
        server=server,
        url_base_pathname=PATH,
        assets_folder=str(assets_dir),
        assets_ignore=r"live\.js",
        title=_("Outfield · forms and approvals"),
        update_title=None,
        suppress_callback_exceptions=True,
    )

    def serve_layout() -> Any:
        if not flask.has_request_context():
            return html.Div()  # Dash validates the layout once at start-up, outside any request
        actor = auth.current_actor()
        if actor is None or not can(actor, Action.MANAGE_FORMS).allowed:
            return html.Div(html.P(_("Your role may not manage forms (managers and admins do).")), className="login")
        return layout(actor_name=actor.name)

    app.layout = serve_layout
    register(app, auth=auth, forms=forms)
    return app


def layout(*, actor_name: str) -> html.Div:
    return html.Div(
        className="forms-page",
        children=[
            dcc.Store(id=SAVED, data=0),
            dcc.Store(id=DECIDED, data=0),
            html.Header(
                className="plans-head",
                children=[
                    html.H1(_("Outfield · forms and approvals")),
                    html.Span(actor_name, className="plans-actor"),
                    html.A(_("Live map"), href="/", className="plans-link"),
                    i18n.language_switch("/forms/"),
                ],
            ),
            html.Section(
                className="forms-editor",
                children=[
                    html.H2(_("Service-report forms")),
                    html.Label(
                        [
                            _("Order type"),
                            dcc.Dropdown(
                                id=ORDER_TYPE,
                                options=[{"label": word(t.value), "value": t.value} for t in OrderType],
                                value=OrderType.REPAIR.value,
                                clearable=False,
                                className="forms-type",
                            ),
                        ]
                    ),  # fmt: skip
                    html.Div(id=VERSIONS, className="forms-versions"),
                    html.Label(
                        [
                            _("Form name"),
                            dcc.Input(id=NAME, type="text", maxLength=120, className="forms-name", debounce=True),
                        ]
                    ),
                    dcc.Checklist(
                        id=APPROVAL,
                        options=[{"label": " " + _("Reports need a manager's approval"), "value": "yes"}],
                        value=[],
                        className="forms-approval",
                    ),  # fmt: skip
                    html.Div(id=ROWS, className="forms-rows"),
                    html.Button(_("Add a field"), id=ADD, className="forms-add"),
                    html.Button(_("Save as a new version"), id=SAVE, className="forms-save"),
                    html.P(id=MESSAGE, className="forms-message"),
                ],
            ),
            html.Section(
                className="forms-approvals",
                children=[
                    html.H2(_("Reports waiting for approval")),
                    html.P(id=QUEUE_MESSAGE, className="forms-queue-message"),
                    html.Div(id=QUEUE, className="forms-queue"),
                ],
            ),
        ],
    )


WORDS = {
    "visit": N_("visit"), "repair": N_("repair"), "inspection": N_("inspection"), "delivery": N_("delivery"),
    "emergency": N_("emergency"), "text": N_("text"), "number": N_("number"), "choice": N_("choice"),
    "checkbox": N_("checkbox"), "photo": N_("photo"), "signature": N_("signature"), "submitted": N_("submitted"),
    "resubmitted": N_("resubmitted"), "pending_approval": N_("pending approval"), "returned": N_("returned"),
    "approved": N_("approved"),
}  # fmt: skip
"""Order types, field types, report statuses and steps as a person reads them (the API keeps its own names)."""


def word(name: Any) -> str:
    """`name` (an order type, field type, report status or step as the API names it) in the page's language."""
    return _(WORDS[name]) if isinstance(name, str) and name in WORDS else str(name)


def register(app: Dash, *, auth: Auth, forms: FormsService) -> None:
    def actor_for(action: Action) -> Actor | str:
        try:
            return auth.require(action)
        except ApiError as exc:
            return _("Refused: {reason}").format(reason=i18n.reason(exc.reason))

    row_states = [State({"type": t, "index": ALL}, ROW_PROPS.get(t, "value")) for t in ROW_STATES]

    @app.callback(
        Output(ROWS, "children"),
        Output(NAME, "value"),
        Output(APPROVAL, "value"),
        Output(VERSIONS, "children"),
        Input(ORDER_TYPE, "value"),
        Input(SAVED, "data"),
        Input(ADD, "n_clicks"),
        Input({"type": UP, "index": ALL}, "n_clicks"),
        Input({"type": DOWN, "index": ALL}, "n_clicks"),
        Input({"type": REMOVE, "index": ALL}, "n_clicks"),
        *row_states,
    )
    def edit(order_type: str, _saved: Any, _add: Any, _up: Any, _down: Any, _remove: Any, *columns: list[Any]) -> Any:
        trigger = ctx.triggered_id
        if isinstance(trigger, Mapping) and not any(t.get("value") for t in ctx.triggered):
            raise PreventUpdate  # rows drawn afresh (n_clicks None), not clicked
        actor = actor_for(Action.MANAGE_FORMS)
        if isinstance(actor, str):
            return no_update, no_update, no_update, html.P(actor, className="error")
        if trigger in (None, ORDER_TYPE, SAVED):
            if order_type not in [t.value for t in OrderType]:
                raise PreventUpdate  # the dropdown holds an order type (it cannot be cleared)
            versions = forms.forms(order_type=order_type)
            current = versions[0] if versions else None
            rows = [field_row(i, f) for i, f in enumerate(current["fields"] if current else [])]
            approval = ["yes"] if current and current["needs_approval"] else []
            return rows, current["name"] if current else "", approval, versions_view(versions)
        fields = rows_from_states(*columns)
        if trigger == ADD:
            fields.append({"id": None, "label": "", "type": "text", "required": False})
        elif isinstance(trigger, Mapping):
            row = trigger.get("index")
            fields = move_row(fields, row if type(row) is int else -1, str(trigger.get("type")))
        return [field_row(i, f) for i, f in enumerate(fields)], no_update, no_update, no_update

    @app.callback(
        Output(SAVED, "data"),
        Output(MESSAGE, "children"),
        Input(SAVE, "n_clicks"),
        State(ORDER_TYPE, "value"),
        State(NAME, "value"),
        State(APPROVAL, "value"),
        State(SAVED, "data"),
        *row_states,
        prevent_initial_call=True,
    )
    def save(_clicks: Any, order_type: str, name: Any, approval: Any, saved: Any, *columns: list[Any]) -> Any:
        actor = actor_for(Action.MANAGE_FORMS)
        if isinstance(actor, str):
            return no_update, actor
        body = {"order_type": order_type, "name": name or "", "needs_approval": "yes" in inputs.texts(approval),
                "fields": definition_fields(rows_from_states(*columns))}  # fmt: skip
        try:
            stored = forms.save_form(actor=actor, body=body)
        except FormsError as exc:
            return no_update, _("Not saved: {reason}").format(reason=i18n.reason(exc.reason))
        saved_words = _("Saved {name} as version {version} of the {order_type} form.")
        return inputs.count(saved) + 1, saved_words.format(
            name=stored["name"], version=stored["version"], order_type=word(order_type)
        )

    @app.callback(Output(QUEUE, "children"), Input(DECIDED, "data"))
    def show_queue(_decided: Any) -> Any:
        actor = actor_for(Action.APPROVE_REPORTS)
        if isinstance(actor, str):
            return html.P(actor, className="error")
        return queue_view(forms.approval_queue(actor=actor))

    @app.callback(
        Output(DECIDED, "data"),
        Output(QUEUE_MESSAGE, "children"),
        Input({"type": APPROVE, "index": ALL}, "n_clicks"),
        Input({"type": RETURN, "index": ALL}, "n_clicks"),
        State({"type": NOTE, "index": ALL}, "value"),
        State({"type": NOTE, "index": ALL}, "id"),
        State(DECIDED, "data"),
        prevent_initial_call=True,
    )
    def decide(_approve: Any, _return: Any, notes: list[Any], note_ids: list[Any], decided: Any) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, Mapping) or not any(t.get("value") for t in ctx.triggered):
            raise PreventUpdate
        actor = actor_for(Action.APPROVE_REPORTS)
        if isinstance(actor, str):
            return no_update, actor
        order_id = inputs.picked_id(trigger.get("index"))
        if order_id is None:
            raise PreventUpdate
        note = inputs.text_beside(notes, note_ids, order_id)
        body = {"decision": "approve" if trigger.get("type") == APPROVE else "return", "note": note}
        try:
            result = forms.review(actor=actor, order_id=order_id, request=parse_review(body))
        except FormsError as exc:
            return no_update, _("Order #{id}").format(id=order_id) + ": " + i18n.reason(exc.reason)
        return inputs.count(decided) + 1, _("Order #{id}: report {status}.").format(
            id=order_id, status=word(result["status"])
        )


def rows_from_states(*columns: Any) -> list[dict[str, Any]]:
    """The editor's rows as {id, label, type, required, choices, min, max}, from the pattern-matched states (one list
    per column; a forged call's column that is not a list, or is shorter, ends the rows there). The form service
    refuses a row's value of the wrong type, naming the field."""
    keys, labels, types, required, choices, lows, highs = (c if isinstance(c, list) else [] for c in columns)
    rows = min(len(c) for c in (keys, labels, types, required, choices, lows, highs))
    return [
        {
            "id": keys[i],
            "label": labels[i] or "",
            "type": types[i] or "text",
            "required": "yes" in inputs.texts(required[i]),
            "choices": choices[i] or "",
            "min": lows[i],
            "max": highs[i],
        }  # fmt: skip
        for i in range(rows)
    ]


def move_row(fields: list[dict[str, Any]], index: int, action: str) -> list[dict[str, Any]]:
    """The rows with row `index` moved up or down one place, or removed."""
    out = list(fields)
    if not 0 <= index < len(out):
        return out
    if action == REMOVE:
        del out[index]
    elif action == UP and index > 0:
        out[index - 1], out[index] = out[index], out[index - 1]
    elif action == DOWN and index < len(out) - 1:
        out[index + 1], out[index] = out[index], out[index + 1]
    return out


def definition_fields(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows as a definition's fields: a new row's id made from its label (unique), choices split by comma."""
    taken = {str(r["id"]) for r in rows if r.get("id")}
    out: list[dict[str, Any]] = []
    for r in rows:
        field_id = r.get("id")
        if not field_id:
            base = field_id_for(str(r.get("label") or "field")) or "field"
            field_id, n = base, 2
            while field_id in taken:
                field_id, n = f"{base[:36]}_{n}", n + 1
            taken.add(field_id)
        field: dict[str, Any] = {"id": field_id, "label": r.get("label") or "", "type": r.get("type") or "text",
                                 "required": bool(r.get("required"))}  # fmt: skip
        choices = r.get("choices")
        if field["type"] == FieldType.CHOICE.value:
            field["choices"] = [c.strip() for c in str(choices or "").split(",") if c.strip()]
        if field["type"] == FieldType.NUMBER.value:
            field |= {k: r[k] for k in ("min", "max") if r.get(k) is not None}
        out.append(field)
    return out


def field_row(index: int, f: Mapping[str, Any]) -> html.Div:
    """One editable field: label, type, required, choices (for a choice), bounds (for a number), move/remove."""
    choices = f.get("choices")
    choices_text = ", ".join(choices) if isinstance(choices, list) else str(choices or "")
    kind = str(f.get("type") or "text")
    return html.Div(
        className="forms-row",
        id=f"forms-row-{index}",
        children=[
            dcc.Store(id={"type": KEY, "index": index}, data=f.get("id")),
            dcc.Input(
                id={"type": LABEL, "index": index},
                value=f.get("label") or "",
                placeholder=_("Question"),
                maxLength=200,
                className="ff-label",
                debounce=True,
            ),  # fmt: skip
            dcc.Dropdown(
                id={"type": TYPE, "index": index},
                options=[{"label": word(t.value), "value": t.value} for t in FieldType],
                value=kind,
                clearable=False,
                className="ff-type",
            ),  # fmt: skip
            dcc.Checklist(
                id={"type": REQUIRED, "index": index},
                options=[{"label": " " + _("required"), "value": "yes"}],
                value=["yes"] if f.get("required") else [],
                className="ff-required",
                inline=True,
            ),  # fmt: skip
            dcc.Input(
                id={"type": CHOICES, "index": index},
                value=choices_text,
                placeholder=_("Choices, separated by commas"),
                className="ff-choices",
                debounce=True,
            ),  # fmt: skip
            dcc.Input(
                id={"type": LOW, "index": index},
                type="number",
                value=f.get("min"),
                placeholder=_("min"),
                className="ff-min",
                debounce=True,
            ),
            dcc.Input(
                id={"type": HIGH, "index": index},
                type="number",
                value=f.get("max"),
                placeholder=_("max"),
                className="ff-max",
                debounce=True,
            ),
            html.Button("↑", id={"type": UP, "index": index}, className="ff-up", title=_("Move up")),
            html.Button("↓", id={"type": DOWN, "index": index}, className="ff-down", title=_("Move down")),
            html.Button(_("Remove"), id={"type": REMOVE, "index": index}, className="ff-remove"),
        ],
    )


def versions_view(versions: Sequence[Mapping[str, Any]]) -> Any:
    if not versions:
        return html.P(_("No form yet for this order type."), className="muted")
    return html.Ul(
        [
            html.Li(
                (_("Version {n} (current)") if i == 0 else _("Version {n}")).format(n=v["version"])
                + f": {v['name']} · "
                + _("{n} fields").format(n=len(v["fields"]))
                + (" · " + _("needs approval") if v["needs_approval"] else ""),
                className="forms-version",
            )
            for i, v in enumerate(versions)
        ]
    )


def queue_view(items: Sequence[Mapping[str, Any]]) -> Any:
    if not items:
        return html.P(_("No reports waiting for approval."), className="muted")
    return [approval_item(item) for item in items]


def answer_view(field: Mapping[str, Any], value: Any, photos: Mapping[str, str]) -> Any:
    """One answer as text, or as images for photos and a signature."""
    if value is None or value == "" or value == []:
        return html.Span("—", className="muted")
    kind = field.get("type")
    if kind == FieldType.CHECKBOX.value:
        return html.Span(_("yes") if value is True else _("no"))
    if kind == FieldType.PHOTO.value and isinstance(value, list):
        return [
            html.Img(src=photos[p], alt=f"{field.get('label')} {i}", className="approval-photo")
            for i, p in enumerate(value, start=1)
            if isinstance(p, str) and p in photos
        ]
    if kind == FieldType.SIGNATURE.value and isinstance(value, str) and value.startswith("data:image/png;base64,"):
        return html.Img(src=value, alt=str(field.get("label")), className="approval-signature")
    return html.Span(str(value))


def approval_item(item: Mapping[str, Any]) -> html.Div:
    """A pending report: order, site, worker, form version, each answer, the steps so far; approve or return."""
    order_id = int(item["order_id"])
    site = item.get("site") or {}
    worker = item.get("worker") or {}
    form = item.get("form") or {}
    report = item.get("report") or {}
    answers = report.get("answers") or {}
    photos = item.get("photos") or {}
    rows = [
        html.Tr([html.Th(str(f.get("label"))), html.Td(answer_view(f, answers.get(f.get("id")), photos))])
        for f in form.get("fields") or []
    ]
    if not form:  # a report from a page before forms: its ticked checklist
        rows = [
            html.Tr([html.Th(str(item)), html.Td(_("yes") if done else _("no"))])
            for item, done in (report.get("checklist") or {}).items()
        ]
    children: list[Any] = [
        html.H3(
            " · ".join(
                (
                    _("Order #{id}").format(id=order_id),
                    site.get("name") or _("unknown site"),
                    worker.get("name") or _("unknown worker"),
                )
            )
        ),
        html.P(
            _("{name} (version {version})").format(name=form["name"], version=form["version"])
            if form
            else _("Checklist (sent before forms)"),
            className="muted",
        ),
    ]
    if report.get("text"):
        children.append(html.P(str(report["text"]), className="report-text"))
    children.append(html.Table(html.Tbody(rows), className="approval-answers"))
    steps = item.get("steps") or []
    if steps:
        children.append(steps_view(steps))
    children += [
        dcc.Textarea(
            id={"type": NOTE, "index": order_id},
            placeholder=_("Note (required to return)"),
            className="review-note",
            maxLength=2000,
        ),  # fmt: skip
        html.Div(
            [
                html.Button(_("Approve"), id={"type": APPROVE, "index": order_id}, className="approval-approve"),
                html.Button(
                    _("Return to the worker"), id={"type": RETURN, "index": order_id}, className="approval-return"
                ),
            ],
            className="review-actions",
        ),
    ]
    return html.Div(children, className="review-item approval-item", id=f"approval-{order_id}")


def _step_time(at: Any) -> str:
    """'2026-03-29 14:05 CEST': when a report step happened, on the office's clock."""
    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        return str(at or "")
    local = moment.astimezone(i18n.office_zone())
    return f"{local:%Y-%m-%d %H:%M} {localtime.zone_label(moment, i18n.office_zone())}"


def steps_view(steps: Sequence[Mapping[str, Any]]) -> html.Ol:
    """The report's history: submitted, returned (with the note), resubmitted, approved; who and when."""
    return html.Ol(
        [
            html.Li(
                _("{step} by {name} at {time}").format(
                    step=word(s.get("step")), name=s.get("by") or _("someone"), time=_step_time(s.get("at"))
                )
                + (_(": {note}").format(note=s["note"]) if s.get("note") else ""),
                className="report-step",
            )
            for s in steps
        ],
        className="report-steps",
    )

"""The managers' check-in review page (/review/): doubtful check-ins with score, reasons, photo and site;
approve or reject each with a note.

Its own Dash app on the console's server, like /plans/ (see `mount`). Callbacks follow the house
pattern: who is calling and may they (`Action.REVIEW_CHECKINS`: managers and admins), parse, call
`ReviewService`, present with the pure functions below. Names and notes are shown as text only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import flask
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from console import i18n
from console.auth import ApiError, Auth
from console.i18n import N_, _
from console.pages import inputs
from console.pages.checkin_confidence import checkin_confidence
from dispatch.access import Action, can
from services.review_service import QUEUE_STATUSES, ReviewError, ReviewService, parse_review, parse_status

PATH = "/review/"
STATUS = "review-status"
LIST = "review-list"
MESSAGE = "review-message"
VERSION = "review-version"
NOTE = "review-note"
APPROVE = "review-approve"
REJECT = "review-reject"


def mount(server: flask.Flask, *, auth: Auth, reviews: ReviewService, assets_dir: Path) -> Dash:
    """The review page's Dash app at `PATH` on `server`, with its layout and callbacks."""
    app = Dash(
        "outfield-review",
        server=server,
        url_base_pathname=PATH,
        assets_folder=str(assets_dir),
        assets_ignore=r"live\.js",
        title=_("Outfield · check-in review"),
        update_title=None,
        suppress_callback_exceptions=True,
    )

    def serve_layout() -> Any:
        if not flask.has_request_context():
            return html.Div()  # Dash validates the layout once at start-up, outside any request
        actor = auth.current_actor()
        if actor is None or not can(actor, Action.REVIEW_CHECKINS).allowed:
            return html.Div(
                html.P(_("Your role may not review check-ins (managers and admins do).")), className="login"
            )
        return layout(actor_name=actor.name)

    app.layout = serve_layout
    register(app, auth=auth, reviews=reviews)
    return app


STATUS_WORDS = {"pending": N_("pending"), "approved": N_("approved"), "rejected": N_("rejected"), "all": N_("all")}
EMPTY_WORDS = {
    "pending": N_("No pending check-ins."),
    "approved": N_("No approved check-ins."),
    "rejected": N_("No rejected check-ins."),
    "all": N_("No check-ins."),
}
DECIDED_WORDS = {
    "approved": N_("Check-in {id} (order #{order_id}) approved."),
    "rejected": N_("Check-in {id} (order #{order_id}) rejected."),
}


def layout(*, actor_name: str) -> html.Div:
    return html.Div(
        className="review-page",
        children=[
            dcc.Store(id=VERSION, data=0),
            html.Header(
                className="plans-head",
                children=[
                    html.H1(_("Outfield · check-in review")),
                    html.Span(actor_name, className="plans-actor"),
                    html.A(_("Live map"), href="/", className="plans-link"),
                    i18n.language_switch("/review/"),
                ],
            ),
            dcc.RadioItems(
                id=STATUS,
                options=[{"label": _(STATUS_WORDS[s]), "value": s} for s in QUEUE_STATUSES],
                value="pending",
                inline=True,
                className="review-filter",
            ),
            html.P(id=MESSAGE, className="review-message"),
            html.Div(id=LIST, className="review-list"),
        ],
    )


def register(app: Dash, *, auth: Auth, reviews: ReviewService) -> None:
    def actor_or_refusal() -> Any:
        try:
            return auth.require(Action.REVIEW_CHECKINS)
        except ApiError as exc:
            return _("Refused: {reason}").format(reason=i18n.reason(exc.reason))

    @app.callback(Output(LIST, "children"), Input(STATUS, "value"), Input(VERSION, "data"))
    def show(status: str | None, _version: Any) -> Any:
        actor = actor_or_refusal()
        if isinstance(actor, str):
            return html.P(actor, className="error")
        try:
            wanted = parse_status(status)
        except ReviewError as exc:
            return html.P(i18n.reason(exc.reason), className="error")
        return queue_view(reviews.queue(actor=actor, status=wanted), wanted)

    @app.callback(
        Output(VERSION, "data"),
        Output(MESSAGE, "children"),
        Input({"type": APPROVE, "index": ALL}, "n_clicks"),
        Input({"type": REJECT, "index": ALL}, "n_clicks"),
        State({"type": NOTE, "index": ALL}, "value"),
        State({"type": NOTE, "index": ALL}, "id"),
        State(VERSION, "data"),
        prevent_initial_call=True,
    )
    def decide(_approve: Any, _reject: Any, notes: list[Any], note_ids: list[Any], version: Any) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, Mapping) or not any(t.get("value") for t in ctx.triggered):
            raise PreventUpdate  # buttons drawn afresh (n_clicks None), not clicked
        actor = actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor
        checkin_id = inputs.picked_id(trigger.get("index"))
        if checkin_id is None:
            raise PreventUpdate
        note = inputs.text_beside(notes, note_ids, checkin_id)
        body = {"decision": "approve" if trigger.get("type") == APPROVE else "reject", "note": note}
        try:
            decided = reviews.decide(actor=actor, checkin_id=checkin_id, request=parse_review(body))
        except ReviewError as exc:
            return no_update, _("Check-in {id}: {reason}").format(id=checkin_id, reason=i18n.reason(exc.reason))
        return inputs.count(version) + 1, decision_message(decided)


def queue_view(items: Sequence[Mapping[str, Any]], status: str) -> Any:
    if not items:
        return html.P(_(EMPTY_WORDS[status]) if status in EMPTY_WORDS else f"No {status} check-ins.", className="muted")
    return [review_item(item) for item in items]


def review_item(item: Mapping[str, Any]) -> html.Div:
    """One check-in: order, site, worker; score, reasons, review; photos (stamped); approve / reject while pending."""
    checkin_id = int(item["id"])
    site = item.get("site") or {}
    worker = item.get("worker") or {}
    title = " · ".join(
        (
            _("Order #{id}").format(id=item.get("order_id")),
            site.get("name") or _("unknown site"),
            worker.get("name") or _("unknown worker"),
        )
    )
    children: list[Any] = [html.H3(title, className="review-title"), checkin_confidence(item)]
    photos = [
        html.A(
            html.Img(src=str(p["url"]), alt=_("Photo {n} (stamped)").format(n=i), className="review-photo"),
            href=str(p["url"]),
            target="_blank",
            rel="noopener",
        )
        for i, p in enumerate(item.get("photos") or [], start=1)
    ]
    if photos:
        children.append(html.Div(photos, className="photos"))
    if (item.get("review") or {}).get("status") == "needs_review":
        children += [
            dcc.Textarea(
                id={"type": NOTE, "index": checkin_id},
                placeholder=_("Note (required to reject)"),
                className="review-note",
                maxLength=2000,
            ),
            html.Div(
                [
                    html.Button(_("Approve"), id={"type": APPROVE, "index": checkin_id}, className="review-approve"),
                    html.Button(_("Reject"), id={"type": REJECT, "index": checkin_id}, className="review-reject"),
                ],
                className="review-actions",
            ),
        ]
    return html.Div(children, className="review-item", id=f"review-item-{checkin_id}")


def decision_message(decided: Mapping[str, Any]) -> str:
    review = decided.get("review") or {}
    status = str(review.get("status"))
    done = _(DECIDED_WORDS[status]) if status in DECIDED_WORDS else "Check-in {id} (order #{order_id}) " + status + "."
    return done.format(id=decided.get("id"), order_id=decided.get("order_id"))

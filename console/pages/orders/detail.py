"""One order's detail: its card (facts, candidates), the notice of what just happened, the excluded
workers, and what the field sent (check-ins with verdicts, photos, the service report)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dash import html

from console import i18n
from console.i18n import N_, _
from console.pages import checkin_confidence, ids
from console.pages.orders.assignment import actions_panel, candidate_list, candidate_row
from console.pages.orders.common import NO_ORDER_HINT, distance_text, humanise, minutes_text, window_text
from dispatch.assign import Excluded
from dispatch.checkin import CheckinKind
from dispatch.orders import FINAL_STATUSES
from services.dispatch_service import Explained

VERDICTS = {
    CheckinKind.VERIFIED.value: N_("verified"),
    CheckinKind.OUTSIDE_GEOFENCE.value: N_("outside the site's geofence"),
    CheckinKind.POOR_ACCURACY.value: N_("location too inaccurate to verify"),
    CheckinKind.NO_LOCATION.value: N_("no location sent"),
}

FIELD_HIDDEN = "field-record actions-hidden"
CARD_ROWS = 20


def field_section() -> html.Section:
    """What the field sent for the selected order (check-ins, photos, report), right under its title.

    Hidden while there is nothing (a new order): see `field_record_class`.
    """
    return html.Section(
        id=ids.FIELD_SECTION,
        className=FIELD_HIDDEN,
        children=[
            html.Div(
                className="field-head",
                children=[
                    html.H3(_("From the field")),
                    html.Button(_("Refresh"), id=ids.FIELD_REFRESH, n_clicks=0, className="field-refresh"),
                ],
            ),
            html.Div(id=ids.ORDER_FIELD),
        ],
    )


def order_detail() -> html.Div:
    """The selected order's card, under its title (drawn by live.js), with the assignment panel."""
    return html.Div(
        id=ids.ORDER_DETAIL,
        className="order-detail",
        children=[
            html.Div(id=ids.ORDER_HEAD, className="order-head", children=html.P(_(NO_ORDER_HINT))),
            field_section(),
            html.Div(id=ids.ORDER_CARD, className="order-card"),
            html.Div(id=ids.ORDER_MESSAGE, className="order-message", role="status"),
            actions_panel(),
            html.Div(id=ids.ORDER_EXCLUDED),
        ],
    )


def notice_view(notice: Mapping[str, Any] | None, names: Mapping[int, str]) -> Any:
    """What just happened to the order, in one line (None when nothing did)."""
    if not notice:
        return None
    kind = notice.get("kind")
    name = names.get(notice.get("worker_id") or -1) or _("the worker")
    if kind == "refused":
        return html.P(str(notice.get("text", "")), className="error")
    if kind == "assigned":
        return html.P(_("Assigned to {name}.").format(name=name), className="ok")
    if kind == "cancelled":
        return html.P(_("Order cancelled."), className="ok")
    if kind == "created" and notice.get("mode") == "auto":
        eta = minutes_text(float(notice.get("eta_s") or 0))
        return html.P(
            _("Created and assigned to {name} automatically (ETA {eta}).").format(name=name, eta=eta), className="ok"
        )
    if kind == "created" and notice.get("mode") == "none":
        why = i18n.reason(str(notice.get("text", "")))
        return html.P(_("Created, but nobody can take it now: {reason}.").format(reason=why), className="warn")
    if kind == "created":
        text = humanise(str(notice.get("text", "")))
        return html.P(_("Created. {text}: choose a worker below.").format(text=text), className="ok")
    return None


def show_all_button(component_id: str, text: str) -> html.Button:
    """'Show all 150 candidates': the card lists the first `CARD_ROWS` of a long list until asked."""
    return html.Button(text, id=component_id, n_clicks=0, className="show-all")


def excluded_view(excluded: Sequence[Excluded], names: Mapping[int, str], *, open_: bool, show_all: bool = True) -> Any:
    """Every worker who cannot take the order, with the reason, folded away unless nobody can (the first
    `CARD_ROWS` of them and a button for the rest, unless `show_all`)."""
    if not excluded:
        return None
    shown = excluded if show_all else excluded[:CARD_ROWS]
    more = (
        [show_all_button(ids.SHOW_ALL_EXCLUDED, _("Show all {n} excluded workers").format(n=len(excluded)))]
        if len(shown) < len(excluded)
        else []
    )
    return html.Details(
        open=open_,
        className="excluded",
        children=[
            html.Summary(_("Excluded workers ({n})").format(n=len(excluded))),
            excluded_list(
                [names.get(e.worker_id) or _("worker {id}").format(id=e.worker_id) for e in shown],
                [i18n.reason(e.reason) for e in shown],
            ),
            *more,
        ],
    )


def excluded_list(names: Sequence[str], reasons: Sequence[str]) -> html.Ul:
    """Excluded workers (name, then why) as ONE component: live.js draws a `li` per row from `data-rows` (span.ex-name,
    span.ex-reason, as text), as `candidate_list` does."""
    return html.Ul(**{"data-rows": json.dumps([list(r) for r in zip(names, reasons, strict=True)], ensure_ascii=False)})


def order_view(
    explained: Explained, *, can_manage: bool, notice: Mapping[str, Any] | None, show_all: bool = False
) -> tuple[Any, ...]:
    """The card, the excluded workers, the notice and the actions' class for one order.

    With hundreds of workers the card lists the first `CARD_ROWS` candidates and excluded workers, each
    list with a 'Show all' button (`show_all` lists everyone): a card of 500 rows as components cost the
    page seconds to draw (bench/README.md, "The dispatcher's console").
    """
    order, ranking, names = explained.order, explained.ranking, explained.names
    final = order.status in FINAL_STATUSES
    assignee = names.get(order.assigned_worker_id, "?") if order.assigned_worker_id is not None else _("nobody yet")
    kind = _("{type} · priority {n}").format(type=i18n.reason(order.type.value), n=order.priority)
    rows = [
        (_("Type"), kind),
        (_("Window"), window_text(order.window)),
        (_("Duration"), minutes_text(order.service_duration_s)),
        (_("Skills"), ", ".join(sorted(order.required_skills)) or _("any")),
        (_("Assigned"), assignee),
    ]
    if order.notes:
        rows.append((_("Notes"), order.notes))
    card: list[Any] = [html.Dl([item for label, value in rows for item in (html.Dt(label), html.Dd(value))])]
    if final:
        status = i18n.reason(order.status.value)
        card.append(
            html.P(_("This order is {status}; it can no longer change.").format(status=status), className="muted")
        )
    elif ranking.candidates:
        best_id = ranking.best.worker_id if ranking.best else None
        card += [
            html.H3(_("Candidates") if order.assigned_worker_id is None else _("Reassign to")),
            candidate_list(
                [
                    candidate_row(
                        c,
                        i + 1,
                        name=names.get(c.worker_id, f"worker {c.worker_id}"),
                        best=c.worker_id == best_id,
                        current=c.worker_id == order.assigned_worker_id,
                    )
                    for i, c in enumerate(ranking.candidates if show_all else ranking.candidates[:CARD_ROWS])
                ],
                can_manage=can_manage,
            ),
        ]
        if not show_all and len(ranking.candidates) > CARD_ROWS:
            card.append(
                show_all_button(ids.SHOW_ALL_CANDIDATES, _("Show all {n} candidates").format(n=len(ranking.candidates)))
            )
    else:
        card.append(html.P(_("Nobody can take this order now; see why below."), className="warn"))
    if not can_manage and not final:
        card.append(html.P(_("Your role may view orders but not assign them."), className="muted"))
    actions = "order-actions" if can_manage and not final else "order-actions actions-hidden"
    excluded = excluded_view(ranking.excluded, names, open_=not ranking.candidates and not final, show_all=show_all)
    return card, excluded, notice_view(notice, names), actions


def order_error_view(text: str) -> tuple[Any, ...]:
    """No card: a hint or the reason the order cannot be shown."""
    css = "muted" if text == NO_ORDER_HINT else "error"
    return html.P(humanise(text), className=css), None, None, "order-actions actions-hidden"


def checkin_row(checkin: Mapping[str, Any]) -> html.Li:
    """'Check-in · verified · 12 m from the site'; anything but verified is marked for the eye."""
    verdict = str(checkin.get("verdict") or "")
    kind = _("Check-in") if checkin.get("kind") == "in" else _("Check-out")
    words = [kind, _(VERDICTS[verdict]) if verdict in VERDICTS else verdict.replace("_", " ")]
    distance = checkin.get("distance_m")
    if isinstance(distance, int | float):
        words.append(_("{distance} from the site").format(distance=distance_text(float(distance))))
    suspicious = verdict != CheckinKind.VERIFIED.value
    text = " · ".join(words)
    return html.Li(
        ("⚠ " if suspicious else "✓ ") + text,
        className="checkin " + ("checkin-suspicious" if suspicious else "checkin-verified"),
    )


LATE_STATUS = {"pending": N_("waits for a manager"), "approved": N_("approved"), "rejected": N_("rejected")}


def late_entry_row(entry: Mapping[str, Any]) -> html.Li:
    """'Late entry: check-in at 10:00 UTC · waits for a manager · “no signal”' (the reason as text)."""
    kind = _("check-in") if entry.get("kind") == "in" else _("check-out")
    status = str(entry.get("status") or "")
    words = [_("Late entry: {kind} at {time}").format(kind=kind, time=_time_of_day(entry.get("at")) or "?"),
             _(LATE_STATUS[status]) if status in LATE_STATUS else status, f"“{entry.get('reason', '')}”"]  # fmt: skip
    return html.Li("⚠ " + " · ".join(words), className="checkin checkin-late-entry")


def photo_link(photo: Mapping[str, Any], number: int) -> html.A:
    """A thumbnail; a click opens the original in a new tab."""
    photo_id = photo["photo_id"]
    return html.A(
        html.Img(
            src=str(photo.get("thumbnail_url") or f"/api/v1/photos/{photo_id}/thumbnail"),
            alt=_("Photo {n}").format(n=number),
            className="photo-thumb",
        ),
        href=f"/api/v1/photos/{photo_id}/original",
        target="_blank",
        rel="noopener",
        className="photo-link",
        title=_("Open the original"),
    )


def report_view(report: Mapping[str, Any]) -> html.Div:
    """The service report: text, ticked checklist, parts used, who signed."""
    children: list[Any] = [html.H4(_("Service report"))]
    if report.get("text"):
        children.append(html.P(str(report["text"]), className="report-text"))
    checklist = report.get("checklist") or {}
    if checklist:
        children.append(
            html.Ul(
                [
                    html.Li(("☑ " if done else "☐ ") + str(item), className="tick" if done else "tick tick-no")
                    for item, done in checklist.items()
                ],
                className="checklist",
            )
        )
    parts = [p for p in report.get("parts") or [] if isinstance(p, Mapping)]
    if parts:
        children.append(
            html.P(
                _("Parts: {parts}").format(
                    parts=", ".join(f"{p.get('name', '?')} × {p.get('quantity', 1)}" for p in parts)
                ),
                className="report-parts",
            )
        )
    signed_by = str(report.get("signed_by") or "").strip()
    if signed_by or report.get("has_signature"):
        who = _("Signed by {name}").format(name=signed_by) if signed_by else _("Signed")
        if report.get("has_signature"):
            who = _("{who} (signature on file)").format(who=who)
        children.append(html.P(who, className="report-signed"))
    written = _time_of_day(report.get("written_at"))
    if written:
        children.append(html.P(_("Written at {time}").format(time=written), className="muted"))
    return html.Div(children, className="report")


def _time_of_day(iso: Any) -> str | None:
    try:
        return i18n.clock_time(str(iso)) if iso else None
    except ValueError:
        return None


def _has_field_news(record: Mapping[str, Any]) -> bool:
    return bool(record.get("checkins") or record.get("photos") or record.get("report") or record.get("late_entries"))


def field_record_class(record: Mapping[str, Any]) -> str:
    """The section is shown once the field has sent something for the order."""
    return "field-record" if _has_field_news(record) else FIELD_HIDDEN


def field_record_view(record: Mapping[str, Any]) -> Any:
    """Check-ins with their verdicts, photo thumbnails and the service report, or 'nothing yet'."""
    checkins = list(record.get("checkins") or [])
    photos = list(record.get("photos") or [])
    report = record.get("report")
    if not _has_field_news(record):
        return html.P(_("Nothing from the field yet."), className="muted")
    parts: list[Any] = []
    if checkins:
        parts.append(html.Ul([checkin_row(c) for c in checkins], className="checkins"))
    late = list(record.get("late_entries") or [])
    if late:
        parts.append(html.Ul([late_entry_row(e) for e in late], className="checkins late-entries"))
    parts.extend(checkin_confidence.confidence_section(record))
    if photos:
        parts.append(html.Div([photo_link(p, i) for i, p in enumerate(photos, start=1)], className="photos"))
    if report:
        parts.append(report_view(report))
    return parts

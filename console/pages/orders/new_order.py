"""The New order tab: the form, the sites the picker offers (also as clickable map points), and the
form's values as the API's JSON body, so one parser (`services.order_input`) checks both.

The form is built by the server when the tab is first opened, with its sites and its default window in
the fields' first values (`order_form`): nothing writes a default into a field once it is shown, so what a
dispatcher types stays (a value written into a shown `dcc.Input` replaces what its box shows).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import dash_leaflet as dl
from dash import dcc, html, no_update

from console import i18n
from console.i18n import N_, _
from console.pages import ids
from console.pages.orders.common import EMPTY_LAYER, NS, TAB_ORDERS, humanise, reason_text
from dispatch import localtime
from dispatch.assign import AutoDispatched, ManualDispatch
from dispatch.orders import OrderType
from dispatch.sites import Site
from services.dispatch_service import Created
from services.order_input import FieldError

PRIORITIES = {1: N_("1 · most urgent"), 2: N_("2 · urgent"), 3: N_("3 · normal"), 4: N_("4 · low"), 5: N_("5 · lowest")}
TYPE_WORDS = {
    OrderType.VISIT: N_("Visit"),
    OrderType.REPAIR: N_("Repair"),
    OrderType.INSPECTION: N_("Inspection"),
    OrderType.DELIVERY: N_("Delivery"),
    OrderType.EMERGENCY: N_("Emergency"),
}

FORM_LABELS = {
    "body": "Order",
    "site_id": "Customer site",
    "type": "Type",
    "priority": "Priority",
    "required_skills": "Required skills",
    "window_start": "Window start",
    "window_end": "Window end",
    "service_duration_s": "Duration",
    "service_minutes": "Duration",
    "notes": "Notes",
}

_TIME = re.compile(r"^\s*(\d{1,2}):?(\d{2})?\s*$")
_HOUR_US = 3_600_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DEFAULT_WINDOW_HOURS = 2


@dataclass(frozen=True, slots=True)
class WindowDefaults:
    """The window the form opens with, as its date pickers and HH:MM fields show it on the office's clock."""

    start_date: str
    start_time: str
    end_date: str
    end_time: str


def window_defaults(now: dt.datetime, zone: ZoneInfo) -> WindowDefaults:
    """From the next full hour (`now` itself when it is one) for two hours, on the office's clock."""
    elapsed_us = (now - _EPOCH) // dt.timedelta(microseconds=1)
    start = _EPOCH + dt.timedelta(microseconds=-(-elapsed_us // _HOUR_US) * _HOUR_US)
    first, last = start.astimezone(zone), (start + dt.timedelta(hours=DEFAULT_WINDOW_HOURS)).astimezone(zone)
    return WindowDefaults(f"{first:%Y-%m-%d}", f"{first:%H:%M}", f"{last:%Y-%m-%d}", f"{last:%H:%M}")


def sites_layer() -> dl.GeoJSON:
    """The sites the picker offers; filled when the form is first opened and shown only while it is."""
    return dl.GeoJSON(id=ids.SITES_LAYER, data=EMPTY_LAYER, pointToLayer=NS("siteMarker"))


def _field(label: str, control: Any, *, html_for: str | None = None, wide: bool = True) -> html.Div:
    return html.Div(
        className="field" if wide else "field field-half",
        children=[html.Label(label, htmlFor=html_for, className="field-label"), control],
    )


def _when(label: str, date_id: str, time_id: str, *, date: str, clock_time: str) -> html.Div:
    """A date picker and an HH:MM field, showing `date` and `clock_time` from their first drawing.

    Fields read only when a button is pressed use `debounce=True`: Dash 4's `dcc.Input` sends a typed value
    from a React effect after the keystroke, so a quick click could read the value from before the edit;
    with `debounce=True` the value is sent on blur, which the click's mousedown causes before the click.
    """
    return _field(
        label,
        html.Div(
            className="when",
            children=[
                dcc.DatePickerSingle(
                    id=date_id,
                    date=date,
                    display_format="YYYY-MM-DD",
                    placeholder=_("YYYY-MM-DD"),
                    first_day_of_week=1,
                ),
                dcc.Input(
                    id=time_id,
                    type="text",
                    value=clock_time,
                    placeholder=_("HH:MM"),
                    className="time",
                    maxLength=5,
                    debounce=True,
                ),
            ],
        ),
        html_for=date_id,
    )


def new_order_pane() -> html.Div:
    """The New order tab, empty until first opened: then the server fills it with `order_form`."""
    return html.Div(
        id=ids.PANE_NEW_ORDER,
        className="pane pane-hidden",
        children=html.Div(id=ids.NEW_ORDER_FORM, className="order-form", children=[]),
    )


def order_form(*, sites: list[dict[str, Any]], defaults: WindowDefaults, message: Any = "") -> list[Any]:
    """Every field of a work order, with its first values; the site comes from the list or the map."""
    zone = i18n.office_zone().key
    return [
        _field(
            _("Customer site"),
            dcc.Dropdown(
                id=ids.SITE_PICKER,
                options=sites,
                searchable=True,
                clearable=True,
                placeholder=_("Type a site name, or click a site on the map"),
            ),
            html_for=ids.SITE_PICKER,
        ),
        html.Div(
            className="field-row",
            children=[
                _field(
                    _("Type"),
                    dcc.Dropdown(
                        id=ids.ORDER_TYPE,
                        options=[
                            {"label": _(TYPE_WORDS.get(t, t.value.capitalize())), "value": t.value} for t in OrderType
                        ],
                        value=OrderType.VISIT.value,
                        clearable=False,
                        searchable=False,
                    ),
                    wide=False,
                ),
                _field(
                    _("Priority"),
                    dcc.Dropdown(
                        id=ids.ORDER_PRIORITY,
                        options=[{"label": _(label), "value": p} for p, label in PRIORITIES.items()],
                        value=3,
                        clearable=False,
                        searchable=False,
                    ),
                    wide=False,
                ),
            ],
        ),
        _field(
            _("Required skills"),
            dcc.Dropdown(id=ids.ORDER_SKILLS, options=[], multi=True, placeholder=_("Any worker")),
            html_for=ids.ORDER_SKILLS,
        ),
        _when(
            _("Window start ({zone})").format(zone=zone),
            ids.START_DATE,
            ids.START_TIME,
            date=defaults.start_date,
            clock_time=defaults.start_time,
        ),
        _when(
            _("Window end ({zone})").format(zone=zone),
            ids.END_DATE,
            ids.END_TIME,
            date=defaults.end_date,
            clock_time=defaults.end_time,
        ),
        _field(
            _("Expected duration (minutes)"),
            dcc.Input(
                id=ids.ORDER_DURATION,
                type="number",
                min=1,
                max=1440,
                step=1,
                value=30,
                className="minutes",
                debounce=True,
            ),
            html_for=ids.ORDER_DURATION,
        ),
        _field(
            _("Notes"),
            dcc.Textarea(id=ids.ORDER_NOTES, className="notes", placeholder=_("What the worker should know")),
            html_for=ids.ORDER_NOTES,
        ),
        html.Button(_("Create order"), id=ids.SUBMIT_ORDER, n_clicks=0, className="primary submit"),
        html.Div(message, id=ids.FORM_MESSAGE, className="form-message", role="alert"),
    ]


def form_time(field: str, date: Any, clock_time: Any) -> str:
    """'YYYY-MM-DD' and 'HH:MM' on the office's clock as the UTC ISO 8601 time parse_new_order expects.

    A time the clocks skip (02:30 on the day summer time starts) is refused naming the field; one that
    happens twice (the day it ends) is the first.
    """
    if not isinstance(date, str) or not date.strip():
        raise FieldError(field, "pick a date")
    match = _TIME.match(clock_time) if isinstance(clock_time, str) else None
    if not clock_time:
        raise FieldError(field, "enter a time of day (HH:MM)")
    if match is None or int(match[1]) > 23 or int(match[2] or 0) > 59:
        raise FieldError(field, f"{clock_time!r} is not a time of day (HH:MM)")
    try:
        day = dt.date.fromisoformat(date.strip()[:10])
    except ValueError:
        raise FieldError(field, f"{date.strip()[:10]!r} is not a date (YYYY-MM-DD)") from None
    instant = localtime.local_to_utc(day, dt.time(int(match[1]), int(match[2] or 0)), i18n.office_zone())
    if isinstance(instant, localtime.NotALocalTime):
        raise FieldError(field, instant.reason)
    return f"{instant:%Y-%m-%dT%H:%M:%S}Z"


def form_body(
    *,
    site_id: Any,
    order_type: Any,
    priority: Any,
    skills: Any,
    start_date: Any,
    start_time: Any,
    end_date: Any,
    end_time: Any,
    minutes: Any,
    notes: Any,
) -> dict[str, Any]:
    """The form's values as the JSON body of a new order (the API's shape, so one parser checks both).

    The end date defaults to the start date.
    """
    if minutes is None or minutes == "":
        raise FieldError("service_duration_s", "enter the expected duration in minutes")
    return {
        "site_id": site_id,
        "type": order_type or OrderType.VISIT.value,
        "priority": priority if priority is not None else 3,
        "required_skills": skills or [],  # the API's parser refuses what is not a list of names, naming the field
        "window_start": form_time("window_start", start_date, start_time),
        "window_end": form_time("window_end", end_date or start_date, end_time),
        "service_minutes": minutes,
        "notes": notes or "",
    }


def site_options(sites: Iterable[Site]) -> list[dict[str, Any]]:
    """Dropdown options, by name; the address helps tell apart sites with similar names."""
    return [
        {"label": f"{s.name} — {s.address}" if s.address else s.name, "value": s.id}
        for s in sorted(sites, key=lambda s: (s.name.casefold(), s.id))
    ]


def sites_to_geojson(sites: Iterable[Site]) -> dict[str, Any]:
    """Sites as points the dispatcher can click to pick one."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(s.location.lon, 6), round(s.location.lat, 6)]},
                "properties": {"site_id": s.id, "name": s.name},
            }
            for s in sites
        ],
    }


def form_error(exc: Exception) -> tuple[Any, ...]:
    """The form stays as typed; the message names the field in the form's words."""
    if isinstance(exc, FieldError):
        label = FORM_LABELS.get(exc.field, exc.field)
        text = f"{label}: {exc.reason.replace('window_start', 'window start').replace('window_end', 'window end')}"
    else:
        text = humanise(reason_text(exc))
    return html.P(text, className="error"), no_update, no_update, no_update, no_update


def form_created(created: Created) -> tuple[Any, ...]:
    """After creating: open the new order on the Orders tab and clear the site and notes."""
    decision = created.dispatch
    if isinstance(decision, AutoDispatched):
        notice: dict[str, Any] = {
            "kind": "created",
            "mode": "auto",
            "worker_id": decision.candidate.worker_id,
            "eta_s": decision.candidate.eta_s,
        }
    elif isinstance(decision, ManualDispatch):
        notice = {"kind": "created", "mode": "manual", "text": decision.reason}
    else:
        notice = {"kind": "created", "mode": "none", "text": decision.reason}
    message = html.P(_("Order #{id} created.").format(id=created.order.id), className="ok")
    return message, {"order_id": created.order.id, "notice": notice}, TAB_ORDERS, None, ""

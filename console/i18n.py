"""Language and local time at the edge: which language a request is answered in, the switch, the
catalogue the browser's scripts read, API error reasons in the reader's language, and times shown in
the office's time zone.

- Messages live in `translations/<lang>/LC_MESSAGES/messages.po` (compiled `.mo` beside it), never in
  code: Python wraps English with `_()` (`flask_babel.gettext`), the field page and live.js with `_()` too,
  and `pybabel extract -F babel.cfg` finds them (see ARCHITECTURE.md, "Where to add … a translation").
- The language of a request: the signed-in user's stored choice (`users.language`, copied into the
  session at sign-in and on a switch) > a `lang` query parameter or cookie > `Accept-Language` > English.
- API errors keep their English `error` for clients that send no `Accept-Language` (or English); a
  zh-CN reader gets the reason translated (the field name before the colon stays as the API names it).
- Times a person reads are wall-clock times in the organisation's zone (`OUTFIELD_TIMEZONE`), named.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import flask
from babel.dates import format_datetime
from babel.messages.mofile import read_mo
from flask_babel import Babel
from flask_babel import gettext as _
from sqlalchemy.orm import Session, sessionmaker

from data import users_repo
from data.db import session_scope
from dispatch import localtime

TRANSLATIONS: Final = Path(__file__).resolve().parent.parent / "translations"
LANGUAGES: Final = {"en": "EN", "zh_CN": "中文"}
"""The languages shipped, with the label of each on the switch (in its own language)."""
CATALOGUES: Final = {"zh_CN": "zh_Hans_CN"}
"""A language's folder under translations/: Babel reads zh_CN as zh_Hans_CN (script included) and looks there."""
COOKIE: Final = "lang"
_REMEMBER: Final = "outfield_remember_language"
TZ_CONFIG: Final = "OUTFIELD_TZ"

_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")
PAGE_SCRIPT: Final = Path(__file__).resolve().parent / "i18n.js"
"""`_()` for the plain pages' scripts (administration, attendance, customer), over the catalogue the page carries."""
_TAG = re.compile(r"(<!--.*?-->|<[^>]+>)", re.S)
_PAGE_ATTRS = re.compile(r'\b(placeholder|aria-label|title)="([^"]*)"')
_SWITCH_MARK: Final = "<!-- lang-switch -->"
_VOID: Final = frozenset({"input", "img", "br", "hr", "meta", "link", "source", "area", "col", "wbr"})


def N_(message: str) -> str:
    """Marks `message` for the catalogue where it is defined; `_()` translates it where it is shown."""
    return message


UNITS: Final = {
    "km": N_("{n} km"),
    "m": N_("{n} m"),
    "min": N_("{n} min"),
    "s": N_("{n} s"),
    "h": N_("{n} h"),
    "d": N_("{n} d"),
}
"""The units the domain writes figures in ("45 min", "1.0 km", "2 h 05 min"), each a message of the catalogue."""
_UNIT = re.compile(r"(\d+(?:\.\d+)?) (km|m|min|s|h|d)\b")
_QUANTITY = re.compile(r"\d+(?:\.\d+)? (?:km|m|min|s|h|d)(?: \d+ (?:min|s|h))?")


def install(server: flask.Flask, *, sessions: sessionmaker[Session], timezone: str) -> Babel:
    """Babel on `server` (locale per request), `POST /lang`, `GET /i18n/catalogue.json` and translated API errors."""
    server.config[TZ_CONFIG] = localtime.zone(timezone)
    server.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel = Babel(server, locale_selector=select_language)

    @server.post("/lang")
    def switch_language() -> Any:
        chosen = flask.request.values.get("lang", "")
        if chosen not in LANGUAGES:
            return flask.jsonify({"error": f"lang: use one of {', '.join(LANGUAGES)}", "field": "lang"}), 400
        user_id = flask.session.get("user_id")
        if isinstance(user_id, int):
            with session_scope(sessions) as session:
                users_repo.set_language(session, user_id=user_id, language=chosen)
        from console.login import safe_next  # the sign-in page shows this switch too

        response = flask.redirect(safe_next(flask.request.args.get("next")), code=303)
        response.set_cookie(COOKIE, chosen, max_age=365 * 86400, samesite="Lax", httponly=False)
        return response

    @server.after_request
    def remember_language(response: flask.Response) -> flask.Response:
        chosen = flask.g.pop(_REMEMBER, None)  # a sign-in: the language this user chose, on this browser too
        if chosen in LANGUAGES:
            response.set_cookie(COOKIE, chosen, max_age=365 * 86400, samesite="Lax", httponly=False)
        return response

    @server.get("/i18n/page.js")
    def page_script() -> flask.Response:
        return flask.send_file(PAGE_SCRIPT, mimetype="text/javascript", max_age=0)

    @server.get("/i18n/catalogue.json")
    def catalogue() -> flask.Response:
        language = select_language()
        response = flask.jsonify({"lang": language, "timezone": office_zone().key, "messages": messages(language)})
        response.headers["Cache-Control"] = "no-cache"  # the field page keeps its own copy offline
        return response

    @server.after_request
    def page_language(response: flask.Response) -> flask.Response:
        # Dash writes a bare <html>: name the page's language, so Chinese pages take the CJK font (:lang(zh)).
        if (
            response.mimetype == "text/html"
            and response.status_code == 200
            and not (response.direct_passthrough or response.is_streamed)  # files (the field page) name it themselves
        ):
            head = response.get_data()[:200]
            if b"<html>" in head:
                lang = html_lang().encode()
                response.set_data(response.get_data().replace(b"<html>", b'<html lang="' + lang + b'">', 1))
        return response

    @server.after_request
    def translate_api_error(response: flask.Response) -> flask.Response:
        if response.status_code < 400 or not response.is_json or (language := current_language()) == "en":
            return response
        body = response.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            body["error"] = translate_reason(body["error"], language=language)
            response.set_data(json.dumps(body, ensure_ascii=False))
        return response

    return babel


def remember_language(language: str) -> None:
    """Set this browser's language cookie on the current response (at sign-in, to the user's stored choice).

    The choice lives in its own cookie, set only by a sign-in and by `POST /lang`, never in the session: the
    session cookie is sent again with every answer (a sliding expiry), so an answer to a request that left
    before the switch would put the old language back.
    """
    flask.g.setdefault(_REMEMBER, language)


def select_language() -> str:
    """The language of this request: `lang` parameter > this browser's choice (cookie; a sign-in sets the
    user's stored one) > Accept-Language > English."""
    request = flask.request
    for chosen in (request.args.get("lang"), flask.g.get(_REMEMBER), request.cookies.get(COOKIE)):
        if chosen in LANGUAGES:
            return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


@cache
def messages(language: str) -> dict[str, str]:
    """Every translated message of `language` ({English: translation}); empty for English."""
    path = TRANSLATIONS / CATALOGUES.get(language, language) / "LC_MESSAGES" / "messages.mo"
    if language == "en" or not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_mo(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.id, str) and m.string}


@cache
def reason_templates(language: str) -> tuple[str, ...]:
    """The reasons' templates (`console.error_reasons`) that `language` translates, in the order `translate_reason`
    tries them (here and in the wall screen's script): those that begin with words of their own first (a reason that
    begins so is theirs: "suspicious check-in: {reason}" before "{distance} outside the geofence of {site}", which
    would take "suspicious check-in: 340 m" for its distance), then the most specific (the most words of its own)."""
    from console.error_reasons import TEMPLATES  # the reasons' templates (that module marks them with N_ from here)

    known = messages(language)
    return tuple(sorted((t for t in TEMPLATES if t in known), key=lambda t: (t.startswith("{"), -len(_own_words(t)))))


@cache
def _patterns(language: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The reasons' templates as patterns matching a whole reason: only those, so a reason never matches a page's
    words ("Order {id}") and comes out half translated."""
    known = messages(language)
    return tuple(
        (re.compile(_PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(msgid)) + r"\Z", re.S), known[msgid])
        for msgid in reason_templates(language)
    )


def _own_words(template: str) -> str:
    """A template's own text, without its `{name}` placeholders (the more of it, the more specific)."""
    return re.sub(r"\{\w+\}", "", template)


def translate_reason(reason: str, *, language: str) -> str:
    """`reason` (an API error's English text) in `language`; "field: reason" keeps its field name.

    Whole messages are looked up first, then the reason after a "field: " prefix, then the catalogue's templates
    ("{value} is not an id"), the most specific (the most words of its own) first; the parts a template names are
    translated in turn when the catalogue knows them. A reason the catalogue does not know stays English rather
    than being half translated.
    """
    known = messages(language)
    if reason in known:
        return known[reason]
    field, sep, rest = reason.partition(": ")
    if sep and rest and " " not in field:
        translated = translate_reason(rest, language=language)
        if translated != rest:
            return f"{field}: {translated}"
    if _QUANTITY.fullmatch(reason):  # "45 min", "1.0 km", "1 h 05 min": a figure with its units
        return _UNIT.sub(lambda m: known.get(UNITS[m[2]], UNITS[m[2]]).format(n=m[1]), reason)
    for pattern, template in _patterns(language):
        match = pattern.match(reason)
        if match is not None:  # the parts it names may be reasons or words the catalogue knows ("done")
            return template.format(**{k: _part(v, language=language) for k, v in match.groupdict().items()})
    return reason


def _part(text: str, *, language: str) -> str:
    """A part a template names, translated: a reason, a word, a figure with units, or a list of words
    ("accepted, cancelled" -> "已接受，已取消", only when the catalogue knows every one of them)."""
    translated = translate_reason(text, language=language)
    if translated != text or ", " not in text:
        return translated
    words = [translate_reason(word, language=language) for word in text.split(", ")]
    if any(word == old for word, old in zip(words, text.split(", "), strict=True)):
        return text
    return messages(language).get(", ", ", ").join(words)


def reason(text: str) -> str:
    """An English reason (a refusal from the API, the services or the domain) in this request's language."""
    return translate_reason(text, language=current_language())


def page_texts(page: str) -> list[str]:
    """The English a plain HTML page shows a person: its texts and its placeholder, aria-label and title
    attributes, outside scripts, styles and elements marked `translate="no"` (what `plain_page` translates)."""
    found: list[str] = []
    _walk_page(page, lambda text: found.append(text) or text)
    return found


def message_page(text: str) -> str:
    """A short page saying `text` (already in this request's language) on the console's card, with a link back to
    the live map: what a person who opened a page they may not see, or one that does not exist, reads."""
    from markupsafe import escape

    return (
        f'<!doctype html><html lang="{html_lang()}"><meta charset="utf-8"><title>Outfield</title>'
        '<link rel="stylesheet" href="/assets/style.css">'
        '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc.css">'
        '<link rel="stylesheet" href="/assets/fonts/noto-sans-sc/noto-sans-sc-cjk.css">'
        '<link rel="stylesheet" href="/assets/fonts/chinese.css">'
        f'<div class="login"><p class="refused">{escape(text)}</p>'
        f'<p><a href="/">{escape(_("Live map"))}</a></p></div></html>'
    )


def plain_page(path: Path, *, next_path: str, replacements: dict[str, str] | None = None) -> str:
    """A plain HTML page (administration, attendance, the customer's page) in this request's language: every text
    a person reads translated through the catalogue, `lang` set, the catalogue on `<body data-messages>` for the
    page's script (`/i18n/page.js`) and the EN / 中文 switch where the page says `<!-- lang-switch -->`."""
    language = current_language()
    known = messages(language)
    page = path.read_text(encoding="utf-8")
    for old, new in (replacements or {}).items():
        page = page.replace(old, new, 1)
    page = _walk_page(page, lambda text: known.get(text, text))
    from markupsafe import escape

    catalogue = escape(json.dumps(known, ensure_ascii=False, separators=(",", ":")))
    page = page.replace('<html lang="en">', f'<html lang="{html_lang()}">', 1)
    page = page.replace("<body", f'<body data-messages="{catalogue}"', 1)
    return page.replace(_SWITCH_MARK, switch_html(next_path), 1)


def _walk_page(page: str, translate: Any) -> str:
    """`page` with each text and translatable attribute (whitespace-trimmed, entities read) passed through
    `translate`; a text without a letter (numbers, '·', '—') is left alone."""
    from html import escape, unescape

    def one(raw: str, *, quote: bool) -> str:
        core = re.sub(r"\s+", " ", unescape(raw)).strip()
        if not re.search(r"[^\W\d_]", core):  # no letter in any script
            return raw
        lead, trail = raw[: len(raw) - len(raw.lstrip())], raw[len(raw.rstrip()) :]
        return lead + escape(str(translate(core)), quote=quote) + trail

    out: list[str] = []
    skipping = ""
    for piece in _TAG.split(page):
        if piece.startswith("<!--"):
            out.append(piece)
        elif piece.startswith("<"):
            name = re.match(r"</?\s*([\w-]+)", piece)
            tag = name[1].lower() if name else ""
            if skipping:
                skipping = "" if piece.startswith("</") and tag == skipping else skipping
            elif piece.startswith("</") or 'translate="no"' in piece:
                skipping = tag if 'translate="no"' in piece and tag not in _VOID and not piece.endswith("/>") else ""
            elif tag in ("script", "style"):
                skipping = tag
            else:
                piece = _PAGE_ATTRS.sub(lambda m: f'{m[1]}="{one(m[2], quote=True)}"', piece)
            out.append(piece)
        else:
            out.append(piece if skipping else one(piece, quote=False))
    return "".join(out)


def language_switch(next_path: str) -> Any:
    """The EN / 中文 switch for a Dash page: a form posting to /lang, back to `next_path`."""
    from dash import html  # the pages' toolkit; this module also serves plain Flask routes

    current = current_language()
    return html.Form(
        action="/lang?" + _query(next_path),
        method="POST",
        className="lang-switch",
        children=[
            html.Button(
                label,
                name="lang",
                value=code,
                type="submit",
                className="lang-current" if code == current else "lang-other",
                lang="zh-CN" if code == "zh_CN" else "en",
                **{"aria-pressed": "true" if code == current else "false"},
            )
            for code, label in LANGUAGES.items()
        ],
    )


def switch_html(next_path: str) -> str:
    """The same switch as plain HTML, for pages that are not Dash's (the sign-in page)."""
    from markupsafe import escape

    current = current_language()
    buttons = "".join(
        f'<button type="submit" name="lang" value="{code}" class="{"lang-current" if code == current else "lang-other"}"'
        f' lang="{"zh-CN" if code == "zh_CN" else "en"}" aria-pressed="{"true" if code == current else "false"}">'
        f"{escape(label)}</button>"
        for code, label in LANGUAGES.items()
    )
    return f'<form class="lang-switch" method="post" action="/lang?{escape(_query(next_path))}">{buttons}</form>'


def _query(next_path: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": next_path}, safe="/")


def current_language() -> str:
    """The language of this request ("en" outside one)."""
    return select_language() if flask.has_request_context() else "en"


def html_lang() -> str:
    """The `lang` attribute of this request's pages ("en", "zh-CN")."""
    return current_language().replace("_", "-")


def office_zone() -> ZoneInfo:
    """The organisation's time zone (UTC outside an app that set one, e.g. in a presenter's unit test)."""
    if flask.has_app_context():
        tz = flask.current_app.config.get(TZ_CONFIG)
        if isinstance(tz, ZoneInfo):
            return tz
    return ZoneInfo("UTC")


def clock_time(moment: datetime | str | None, *, seconds: bool = False) -> str:
    """'14:05 CEST': a stored time (aware datetime or ISO 8601 text) on the office's clock, named."""
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return localtime.format_clock(value, office_zone(), seconds=seconds)


def date_time(moment: datetime) -> str:
    """'Wed 05 Mar 14:05 CET' (周三 05 3月 14:05 CET): a stored time with its local day, on the office's clock."""
    return f"{_day_and_clock(moment)} {localtime.zone_label(moment, office_zone())}"


def window_words(start: datetime, end: datetime) -> str:
    """'Tue 04 Mar 09:00–11:00 CET' on the office's clock; both days when it spans a local midnight."""
    tz = office_zone()
    label = localtime.zone_label(start, tz)
    if localtime.to_local(start, tz).date() == localtime.to_local(end, tz).date():
        return f"{_day_and_clock(start)}–{localtime.to_local(end, tz):%H:%M} {label}"
    return f"{_day_and_clock(start)} – {_day_and_clock(end)} {label}"


DAY_AND_CLOCK: Final = {"en": "EEE dd MMM HH:mm", "zh_CN": "M月d日 EEE HH:mm"}
"""A day and a time in each language's order ('Sun 29 Mar 09:00', '3月29日 周日 09:00'; the English order read
'周日 29 3月' in Chinese)."""


def _day_and_clock(moment: datetime) -> str:
    local = localtime.to_local(moment, office_zone())
    language = current_language()
    return format_datetime(local, DAY_AND_CLOCK.get(language, DAY_AND_CLOCK["en"]), locale=language)


def window_text(start: datetime, end: datetime) -> str:
    """'2026-03-29 09:00–11:00 CEST': an order's window on the office's clock (the end's date when it differs)."""
    first, last, label = localtime.format_span(start, end, office_zone())
    return f"{first}–{last} {label}" if len(last) == 5 else f"{first} – {last} {label}"


def with_zone_labels(day: dict[str, Any]) -> dict[str, Any]:
    """The field page's day with each order's `window_zone` ('CEST', 'CST'), so the phone names the office's zone
    as the console does (browsers name some zones only by offset)."""
    for order in day.get("orders", []):
        start = order.get("window_start")
        if isinstance(start, str):
            order["window_zone"] = localtime.zone_label(datetime.fromisoformat(start), office_zone())
    return day


__all__ = ["LANGUAGES", "_", "clock_time", "install", "office_zone", "reason", "select_language", "translate_reason"]

"""The demo's simulated staff working their days through the product's own field API, as phones do.

Each simulated worker holds a push link for today, issued through the office API
(`POST /api/v1/workers/{id}/push-link`) with the simulator's own API token, reads their day
(`GET /api/v1/field/<token>/day`) and sends what they do as actions with client action ids
(`POST /api/v1/field/<token>/actions`). Nothing is written to the database: every change of an
order goes through the lifecycle on the server, exactly as a tap on the push-link page does.

Why links come from the office API with an API token of the demo's own `simulator` user (minted
at start, revoked at exit, see `realtime.simulate_cmd`): a link is the server's credential, signed
with its secret by `services.links`, which the realtime layer may not import; signing links here
would copy that code and skip the audit. Issuing them as a named user is what a dispatcher does,
so every link the simulator gets is in the audit log under its name, and its token can be revoked
like any other. A token handed in through the environment would have worked too, but then
`./run demo` could not start the simulated staff without a manual step.

Failures are values: a refused action (the dispatcher reassigned or cancelled the order
meanwhile), a refused link or an unreachable server makes the worker re-read their day or try
again later; nothing here raises for them. Unsent actions keep their ids and time, so a resend of
one the server did apply comes back as a duplicate and changes nothing. Logs name devices,
orders and reasons, never coordinates.

Traffic stays small: a worker reads their day every `poll_s` of simulated time (staggered), sends
an action only when they do something, and asks for a link once a day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

import requests

from dispatch import localtime
from dispatch.orders import OrderStatus
from realtime.sim_field import DayOrder, Memory, Move, MoveKind, action_items, clock_items, decide, parse_day
from realtime.simulator import Report, Simulator

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 5.0
RETRY_S = 60.0
"""Simulated seconds before a worker whose link or day could not be had tries again."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A call that did not work: the HTTP status (None: no answer) and the reason, without coordinates."""

    status: int | None
    reason: str


class FieldApi:
    """The calls the simulated staff make, over HTTP; answers are values, failures `Failure`s."""

    def __init__(self, session: requests.Session, base_url: str, api_token: str) -> None:
        self._http = session
        self._base = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_token}"}

    def office_zone(self) -> tzinfo | Failure:
        """The office's time zone, as the server names it to its pages (`/i18n/catalogue.json`): whose calendar
        day "today" is, the day a push link is asked for."""
        answer = self._call("get", "/i18n/catalogue.json")
        if isinstance(answer, Failure):
            return answer
        name = answer.get("timezone") if isinstance(answer, dict) else None
        try:
            return localtime.zone(str(name))
        except ValueError as exc:
            return Failure(None, f"catalogue answer without a time zone: {exc}")

    def issue_link(self, worker_id: int, day: date) -> str | Failure:
        """A push-link token for the worker's `day`."""
        answer = self._call(
            "post", f"/api/v1/workers/{worker_id}/push-link", json={"day": day.isoformat()}, headers=self._auth
        )
        if isinstance(answer, Failure):
            return answer
        token = answer.get("token") if isinstance(answer, dict) else None
        return token if isinstance(token, str) and token else Failure(None, "push-link answer without a token")

    def read_day(self, token: str) -> tuple[DayOrder, ...] | Failure:
        """The worker's orders of the link's day, in route order."""
        answer = self._call("get", f"/api/v1/field/{token}/day")
        if isinstance(answer, Failure):
            return answer
        try:
            return parse_day(answer)
        except ValueError as exc:
            return Failure(None, f"unreadable day: {exc}")

    def clocked_in(self, token: str) -> bool | Failure:
        """Whether the worker is clocked in now (the field page's attendance: their last clock event was an "in")."""
        answer = self._call("get", f"/api/v1/field/{token}/attendance")
        if isinstance(answer, Failure):
            return answer
        clocked = answer.get("clocked_in") if isinstance(answer, dict) else None
        return clocked if isinstance(clocked, bool) else Failure(None, "attendance answer without clocked_in")

    def send_actions(self, token: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | Failure:
        """One result per action, in order (`status`: applied, duplicate, refused or invalid)."""
        answer = self._call("post", f"/api/v1/field/{token}/actions", json={"actions": list(items)})
        if isinstance(answer, Failure):
            return answer
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            return Failure(None, "actions answer without results")
        return results

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return call_api(self._http, method, self._base + path, **kwargs)


def call_api(http: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
    """The JSON body of the server's answer (None when empty), or a `Failure` with the status and the
    server's reason: the one way the simulator reads an answer of the HTTP API."""
    try:
        answer = http.request(method, url, timeout=REQUEST_TIMEOUT_S, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as exc:
        return Failure(None, f"server not reachable ({type(exc).__name__})")
    try:
        body = answer.json() if answer.content else None
    except ValueError:
        body = None
    if answer.status_code >= 400:
        reason = body.get("error") if isinstance(body, dict) else None
        return Failure(answer.status_code, str(reason or answer.reason or "refused"))
    return body


class Api(Protocol):
    """What `FieldStaff` needs from the server (`FieldApi`, or a fake in tests)."""

    def office_zone(self) -> tzinfo | Failure: ...
    def issue_link(self, worker_id: int, day: date) -> str | Failure: ...
    def read_day(self, token: str) -> tuple[DayOrder, ...] | Failure: ...
    def send_actions(self, token: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | Failure: ...
    def clocked_in(self, token: str) -> bool | Failure: ...


@dataclass(frozen=True, slots=True)
class StaffOptions:
    """How the simulator's workers reach the field API; see `FieldStaff` for the fields."""

    api: Api
    worker_ids: Mapping[str, int]
    poll_s: float
    new_id: Callable[[], str]
    on_shift: Callable[[str, datetime], bool] | None = None
    """`on_shift(device_id, at)` (the time sent): with it the workers clock in and out of their shifts."""


@dataclass(slots=True)
class _Staffer:
    """One simulated worker's field state; private to `FieldStaff`."""

    worker_id: int
    device_id: str
    read_at: datetime
    """When (simulated time) to read the day next."""
    token: str | None = None
    link_day: date | None = None
    day: tuple[DayOrder, ...] = ()
    memory: Memory = field(default_factory=Memory)
    unsent: list[dict[str, Any]] = field(default_factory=list)
    """Actions decided but not yet answered by the server, resent as they are (same ids, same times)."""
    retry_at: datetime | None = None
    clocked_in: bool | None = None
    """Whether they are clocked in (None: not read yet for this link)."""


class FieldStaff:
    """The simulated workers in `worker_ids` (device id → worker id) acting out their days.

    `tick(now, fixes)` runs each worker one decision forward at simulated time `now` (pass the
    `now` just given to `simulator.step`), with `fixes` the latest report of each device. `stamp`
    maps simulated times to the times sent to the server (the phone's clock; identity by default),
    and its date in the office's zone (asked of the server once) is the day links are asked for. `new_id` makes client action ids, unique across
    runs (the server keeps every id it has seen). The first day reads are spread over `poll_s`.
    """

    def __init__(
        self,
        *,
        api: Api,
        simulator: Simulator,
        worker_ids: Mapping[str, int],
        start: datetime,
        poll_s: float,
        new_id: Callable[[], str],
        stamp: Callable[[datetime], datetime] | None = None,
        on_shift: Callable[[str, datetime], bool] | None = None,
    ) -> None:
        if poll_s <= 0:
            raise ValueError(f"poll_s {poll_s!r} must be > 0")
        self._api = api
        self._simulator = simulator
        self._poll = timedelta(seconds=poll_s)
        self._new_id = new_id
        self._stamp = stamp or (lambda t: t)
        self._on_shift = on_shift
        self._zone: tzinfo | None = None
        n = max(1, len(worker_ids))
        self._staff = [
            _Staffer(worker_id=wid, device_id=device, read_at=start + self._poll * (i / n))
            for i, (device, wid) in enumerate(sorted(worker_ids.items()))
        ]

    def tick(self, now: datetime, fixes: Mapping[str, Report]) -> None:
        for staffer in self._staff:
            self._tick_one(staffer, now, fixes.get(staffer.device_id))

    def day_of(self, device_id: str) -> tuple[DayOrder, ...]:
        """The day a worker last read (with the statuses their own actions since then led to)."""
        return next(s.day for s in self._staff if s.device_id == device_id)

    def _tick_one(self, s: _Staffer, now: datetime, fix: Report | None) -> None:
        if s.retry_at is not None and now < s.retry_at:
            return
        s.retry_at = None
        if s.unsent:  # what the worker did comes first: nothing new until the server has heard it
            self._send(s, now)
            return
        if now >= s.read_at and not self._read(s, now):
            return
        if self._on_shift is not None:  # the shift's clock-in or -out comes before the visits
            busy = any(o.status in (OrderStatus.ON_SITE, OrderStatus.EN_ROUTE) for o in s.day)
            on_shift = self._on_shift(s.device_id, self._stamp(now))
            clock = clock_items(on_shift=on_shift, clocked_in=s.clocked_in, busy=busy, fix=fix, at=self._stamp(now),
                                new_id=self._new_id)  # fmt: skip
            if clock:
                s.unsent, s.clocked_in = clock, on_shift
                log.info("%s: %s", s.device_id, clock[0]["action"].replace("_", " "))
                self._send(s, now)
                return
        move, memory = decide(s.day, fix, s.memory, now, clock_now=self._stamp(now))
        s.memory = memory
        self._steer(s, move, now)
        items = action_items(move, fix=fix, at=self._stamp(now), new_id=self._new_id)
        if items:
            s.unsent = items
            log.info("%s: %s (order %d)", s.device_id, move.kind.value.replace("_", " "), items[0]["order_id"])
            self._send(s, now)

    def _steer(self, s: _Staffer, move: Move, now: datetime) -> None:
        if move.kind in (MoveKind.SET_OFF, MoveKind.DRIVE) and move.order is not None:
            self._simulator.go_to(s.device_id, move.order.site, now)
        elif move.kind is MoveKind.WANDER:
            self._simulator.wander(s.device_id, now)

    def _read(self, s: _Staffer, now: datetime) -> bool:
        """Read the worker's day (getting today's link first when needed); False when it could not be had."""
        if self._zone is None:
            zone = self._api.office_zone()
            if isinstance(zone, Failure):
                self._failed(s, now, "office time zone", zone)
                return False
            self._zone = zone
        today = localtime.local_day(self._stamp(now), self._zone)
        if s.token is None or s.link_day != today:
            token = self._api.issue_link(s.worker_id, today)
            if isinstance(token, Failure):
                self._failed(s, now, "push link", token)
                return False
            s.token, s.link_day, s.clocked_in = token, today, None
        day = self._api.read_day(s.token)
        if isinstance(day, Failure):
            if day.status in (401, 403, 410):  # the link was revoked or expired: ask for another
                s.token = None
            self._failed(s, now, "day", day)
            return False
        if self._on_shift is not None and s.clocked_in is None:
            clocked = self._api.clocked_in(s.token)
            if isinstance(clocked, Failure):
                self._failed(s, now, "attendance", clocked)
                return False
            s.clocked_in = clocked
        s.day = day
        s.read_at = now + self._poll
        return True

    def _send(self, s: _Staffer, now: datetime) -> None:
        assert s.token is not None
        results = self._api.send_actions(s.token, s.unsent)
        if isinstance(results, Failure):
            if results.status is not None and results.status < 500:  # refused as a whole: resending will not help
                s.unsent = []
                s.read_at = now
                if results.status in (401, 403, 410):
                    s.token = None
            self._failed(s, now, "actions", results)
            return
        sent = {item["client_action_id"]: item for item in s.unsent}
        s.unsent = []
        for result in results:
            item = sent.get(result.get("client_action_id"), {})
            if result.get("status") in ("refused", "invalid"):
                log.warning(
                    "%s: %s of order %s refused (%s); re-reading their day",
                    s.device_id,
                    item.get("action", "action"),
                    item.get("order_id"),
                    result.get("error", "no reason given"),
                )
                s.read_at = now
            elif isinstance(result.get("order_status"), str):  # the page shows the new status without a re-read
                order_id = item.get("order_id")
                s.day = tuple(_with_status(o, result["order_status"]) if o.id == order_id else o for o in s.day)

    def _failed(self, s: _Staffer, now: datetime, what: str, failure: Failure) -> None:
        level = logging.DEBUG if failure.status is None else logging.WARNING
        log.log(level, "%s: %s failed (%s %s); trying again later", s.device_id, what, failure.status, failure.reason)
        s.retry_at = now + timedelta(seconds=RETRY_S)


def _with_status(order: DayOrder, status: str) -> DayOrder:
    try:
        return replace(order, status=OrderStatus(status))
    except ValueError:
        return order

"""The composition root: settings, clock and stores in; the Flask server, Dash app and Socket.IO out."""

from __future__ import annotations

import pkgutil
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

import flask
import plotly.io.json
from dash import Dash, html
from flask_socketio import SocketIO

from console import (
    api,
    api_admin,
    api_alerts,
    api_attendance,
    api_customer,
    api_day,
    api_field,
    api_forms,
    api_orders,
    api_plans,
    api_privacy,
    api_reports,
    api_review,
    api_roads,
    api_tracks,
    http_errors,
    i18n,
    login,
    security,
)
from console.auth import Auth
from console.flask_app import OutfieldFlask, drop_prepared_dash_hooks
from console.i18n import _
from console.notify import webhook
from console.osmand_wsgi import OsmandEndpoint
from console.pages import day as day_page
from console.pages import forms as forms_page
from console.pages import live
from console.pages import orders as orders_page
from console.pages import plans as plans_page
from console.pages import reports as reports_page
from console.pages import review as review_page
from data import field_repo, orders_repo, scope_repo, sites_repo, users_repo, webhooks_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.scenario import DEMO_LOGINS
from data.settings import Settings
from dispatch import localtime
from dispatch.access import Action, can, sees_worker
from dispatch.assign import AssignParams, AutoDispatchPolicy
from dispatch.attendance import ClockPolicy
from dispatch.clock import Clock
from dispatch.orders import OrderStatus, OrderType
from dispatch.positions import PositionLimits
from realtime import sockets
from realtime.bus import Bus
from realtime.field_events import alert_settings, make_field_events
from realtime.pipeline import PositionPipeline, StoreUnavailable
from realtime.relay import TeamDirectory, run_relay
from realtime.webhook_queue import DeliveryQueue
from routing.paths import LegPaths
from routing.travel import StraightLine, TravelTimes, make_travel_times
from services import travel_learning
from services.admin_service import AdminService
from services.alerts_service import AlertsService, order_changed
from services.attendance_service import AttendanceService
from services.customer_service import CustomerService
from services.day_service import DayService
from services.dispatch_service import DispatchService
from services.field_service import FieldService
from services.forms_service import FormsService
from services.links import PushLinks
from services.live_service import Services
from services.plan_jobs import PlanJobs
from services.plan_review import compare_with_published
from services.privacy_service import PrivacyService
from services.reports_service import ReportsService
from services.review_service import ReviewService
from services.webhooks_service import WebhookService

PUBLIC_PREFIXES = ("/login", "/osmand", "/api/", "/field/", "/c/", "/healthz", "/assets/style.css", "/favicon.ico",
                   "/lang", "/i18n/", "/assets/fonts/")  # fmt: skip


@dataclass
class OutfieldApp:
    server: flask.Flask
    dash: Dash
    socketio: SocketIO
    services: Services
    dispatch: DispatchService
    bus: Bus
    stop: threading.Event

    def start_relay(self, batch_ms: int) -> threading.Thread:
        """Run a relay candidate in this process (it forwards only while it holds the lock)."""
        holder = f"console-{uuid.uuid4().hex[:8]}"

        def emit(event: str, payload: dict[str, Any], room: str) -> None:
            self.socketio.emit(event, payload, to=room)

        def load_teams() -> dict[int, str]:  # for the team-scoped consoles' rooms
            with session_scope(self.services.sessions) as session:
                return scope_repo.teams_by_worker(session)

        thread = threading.Thread(
            target=run_relay,
            kwargs={
                "bus": self.bus,
                "emit": emit,
                "batch_ms": batch_ms,
                "stop": self.stop,
                "holder": holder,
                "team_of": TeamDirectory(load_teams),
            },  # fmt: skip
            name="outfield-relay",
            daemon=True,
        )
        thread.start()
        return thread


def create_app(settings: Settings, *, clock: Clock) -> OutfieldApp:
    """Raises security.InsecureSettings outside demo mode with the demo's secret key or passwords."""
    sessions = make_sessionmaker(make_engine(settings.database_url))
    refuse_demo_secrets(settings, sessions)
    bus = Bus(settings.redis_url)
    auth = Auth(sessions)
    services = Services(sessions=sessions, clock=clock, consent_required=settings.consent_required)
    limits = PositionLimits(max_age_s=settings.position_retention_days * 86400.0)
    field_events = make_field_events(
        settings, sessions=sessions, bus=bus, clock=clock, order_changed=order_changed(bus)
    )
    pipeline = PositionPipeline(
        sessions=sessions, bus=bus, clock=clock, limits=limits, after_store=field_events.submit,
        consent_required=settings.consent_required,
    )  # fmt: skip
    alerts = AlertsService(sessions=sessions, clock=clock, bus=bus)

    server = OutfieldFlask("outfield")
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookies_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    security.install_same_origin_rule(server, public_url=settings.public_url)
    i18n.install(server, sessions=sessions, timezone=settings.timezone)
    office = localtime.zone(settings.timezone)  # every calendar day (plans, a worker's day, hours) is cut here
    server.register_blueprint(api.create_blueprint(auth=auth, services=services, pipeline=pipeline, limits=limits))
    server.register_blueprint(api_tracks.create_blueprint(auth=auth, sessions=sessions, clock=clock))
    days = DayService(sessions=sessions, clock=clock, zone=office)
    server.register_blueprint(api_day.create_blueprint(auth=auth, days=days))
    server.register_blueprint(api_alerts.create_blueprint(auth=auth, alerts=alerts))
    travel = travel_learning.travel_times(make_travel_times(settings.osrm_dir), settings.var_dir, clock.now)
    leg_paths = LegPaths(travel)  # road geometry of plan and field routes, cached per leg
    server.register_blueprint(api_roads.create_blueprint(auth=auth, travel=travel))
    dispatch = DispatchService(
        sessions=sessions,
        clock=clock,
        bus=bus,
        travel=travel,
        params=assign_params(travel, office),
        policy=auto_dispatch_policy(settings.auto_dispatch_types),
        zone=office,
        consent_required=settings.consent_required,
    )

    def list_orders(statuses: Any) -> Any:
        with session_scope(sessions) as session:
            return orders_repo.list_orders(session, status=statuses)

    server.register_blueprint(api_orders.create_blueprint(auth=auth, dispatch=dispatch, list_orders=list_orders))
    field = FieldService(
        sessions=sessions,
        clock=clock,
        bus=bus,
        links=PushLinks(
            settings.secret_key, clock=clock, versions=lambda worker_id: _link_version(sessions, worker_id), zone=office
        ),
        pipeline=pipeline,
        upload_dir=settings.upload_dir,
        public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
        notify=webhook(settings.link_webhook_url) if settings.link_webhook_url else None,
        review_threshold=settings.checkin_review_threshold,
        attendance=(
            attendance := AttendanceService(
                sessions=sessions, clock=clock, policy=ClockPolicy(settings.clock_in), zone=office
            )
        ),
        path_of=leg_paths.path,
        zone=office,
    )
    server.register_blueprint(api_field.create_blueprint(auth=auth, field=field))
    privacy = PrivacyService(sessions=sessions, clock=clock, text_version=settings.consent_text_version,
                             on_consent=pipeline.consent_changed, bus=bus, consent_required=settings.consent_required)  # fmt: skip
    server.register_blueprint(api_privacy.create_blueprint(auth=auth, privacy=privacy, field=field))
    server.register_blueprint(api_attendance.create_blueprint(auth=auth, attendance=attendance, field=field))
    customers = CustomerService(
        sessions=sessions, clock=clock, secret=settings.secret_key, travel=travel,
        public_url=settings.public_url or f"http://{settings.host}:{settings.port}", link_days=settings.customer_link_days,
        low_rating=settings.low_rating_threshold, notify=webhook(settings.link_webhook_url) if settings.link_webhook_url else None,
    )  # fmt: skip

    webhooks_repo.capture(sessions, DeliveryQueue(settings.redis_url).enqueue)  # events → deliveries, on commit
    server.register_blueprint(
        api_customer.create_blueprint(
            auth=auth, customers=customers, webhooks=WebhookService(sessions=sessions, clock=clock)
        )
    )
    reviews = ReviewService(sessions=sessions, clock=clock, threshold=settings.checkin_review_threshold)
    server.register_blueprint(api_review.create_blueprint(auth=auth, reviews=reviews))
    forms = FormsService(sessions=sessions, clock=clock)
    server.register_blueprint(api_forms.create_blueprint(auth=auth, forms=forms))
    reports = ReportsService(sessions=sessions, clock=clock, field=field, zone=office)
    server.register_blueprint(api_reports.create_blueprint(auth=auth, reports=reports))
    server.register_blueprint(
        api_admin.create_blueprint(
            auth=auth,
            admin=AdminService(
                sessions=sessions, clock=clock, bus=bus, consent_required=settings.consent_required, zone=office
            ),
        )
    )
    stopping = threading.Event()  # set when this process stops (SIGTERM, gunicorn's worker exit): OutfieldApp.stop
    jobs = PlanJobs(sessions=sessions, clock=clock, travel=travel, seed=settings.seed, redis_url=settings.redis_url,
                    emit=lambda event, payload, room: socketio.emit(event, payload, to=room), zone=office,
                    halt=stopping, alerts=alert_settings(settings))  # fmt: skip  # socketio: below
    server.register_blueprint(api_plans.create_blueprint(auth=auth, jobs=jobs, apply_plan=dispatch.apply_plan))
    login.register(
        server,
        auth,
        storage_uri=settings.redis_url,
        per_name=settings.login_limit_per_name,
        per_address=settings.login_limit_per_address,
    )

    @server.get("/healthz")
    def healthz() -> tuple[flask.Response, int]:
        ok = bus.ping()
        return flask.jsonify({"redis": ok}), 200 if ok else 503

    # What a browser asks for on a page without an icon link (the plain pages): Dash's own icon, which its pages
    # link as /_favicon.ico. Any other path no page has is answered 404 (console/http_errors.py).
    icon = pkgutil.get_data("dash", "favicon.ico") or b""

    @server.get("/favicon.ico")
    def favicon() -> flask.Response:
        return flask.Response(icon, mimetype="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})

    @server.before_request
    def require_login() -> flask.Response | tuple[flask.Response, int] | None:
        path = flask.request.path
        if path.startswith(PUBLIC_PREFIXES) or path.startswith("/socket.io"):
            return None
        if auth.current_actor() is not None:
            return None
        if path.startswith(
            (
                "/_dash",
                f"{plans_page.PATH}_dash",
                f"{review_page.PATH}_dash",
                f"{day_page.PATH}_dash",
                f"{forms_page.PATH}_dash",
                f"{reports_page.PATH}_dash",
            )
        ):
            return flask.jsonify({"error": "not authenticated"}), 401
        # Encoded, so a page's whole query (`/day/?worker=3&date=...`) survives the sign-in.
        return flask.redirect("/login?" + urlencode({"next": flask.request.full_path.rstrip("?")}, safe="/"))

    # Dash answers through plotly's JSON writer; its "orjson" engine first copies every value in Python, which
    # made the live map's layout (2,500 features at 500 workers and 2,000 orders) a quarter slower to write than
    # the standard library's encoder (bench/README.md, "The dispatcher's console"). The same JSON either way.
    plotly.io.json.config.default_engine = "json"
    dash_app = Dash(
        "outfield",
        server=server,
        assets_folder=str(_assets_dir()),
        title="Outfield · live map",
        update_title=None,
        suppress_callback_exceptions=True,
    )

    def serve_layout() -> Any:
        if not flask.has_request_context():
            return html.Div()  # Dash validates the layout once at start-up, outside any request
        actor = auth.current_actor()
        if actor is None or not can(actor, Action.VIEW_LIVE_MAP).allowed:
            return html.Div(html.P(_("Your role may not view the live map.")), className="login")
        snapshot = services.live_snapshot(actor=actor)
        return live.layout(
            snapshot, tile_url=settings.tile_url, actor_name=actor.name, may=lambda a: can(actor, a).allowed
        )

    dash_app.layout = serve_layout

    # The plan page is a Dash app of its own at /plans/: its own layout and callbacks, so it never asks
    # which page wants a layout and its figures never weigh on the wall screen's store.
    plans_dash = Dash(
        "outfield-plans",
        server=server,
        url_base_pathname=plans_page.PATH,
        assets_folder=str(_assets_dir()),
        assets_ignore=r"live\.js",
        title="Outfield · route plans",
        update_title=None,
        suppress_callback_exceptions=True,
    )

    def serve_plans_layout() -> Any:
        if not flask.has_request_context():
            return html.Div()
        actor = auth.current_actor()
        if actor is None or not can(actor, Action.PLAN_ROUTES).allowed:
            return html.Div(html.P(_("Your role may not plan routes.")), className="login")
        with session_scope(sessions) as session:
            open_days = {localtime.local_day(o.window.start, office)
                         for o in orders_repo.list_orders(session, status=[OrderStatus.NEW])}  # fmt: skip
        day = plans_page.default_day(clock.now(), open_days, office)
        return plans_page.layout(tile_url=settings.tile_url, actor_name=actor.name, day=day, summaries=jobs.recent(day))

    plans_dash.layout = serve_plans_layout

    # A worker's day (/day/): its own Dash app too, like the plan page.
    day_dash = Dash(
        "outfield-day",
        server=server,
        url_base_pathname=day_page.PATH,
        assets_folder=str(_assets_dir()),
        assets_ignore=r"live\.js",
        title="Outfield · a worker's day",
        update_title=None,
        suppress_callback_exceptions=True,
    )

    def serve_day_layout() -> Any:
        if not flask.has_request_context():
            return html.Div()
        actor = auth.current_actor()
        if actor is None or not can(actor, Action.VIEW_POSITIONS).allowed:
            return html.Div(html.P(_("Your role may not view workers' days.")), className="login")
        workers = [(w.id, w.name) for w in services.list_workers() if sees_worker(actor, w.team)]
        today = localtime.local_day(clock.now(), office)
        return day_page.layout(tile_url=settings.tile_url, actor_name=actor.name, workers=workers, day=today)

    day_dash.layout = serve_day_layout
    day_page.register(
        day_dash,
        auth=auth,
        load_day=lambda actor, worker_id, day: days.worker_day(actor=actor, worker_id=worker_id, day=day, view="day"),
    )

    # Managers' history and reports at /reports/: a Dash app of its own, like /plans/.
    reports_dash = Dash(
        "outfield-reports",
        server=server,
        url_base_pathname=reports_page.PATH,
        assets_folder=str(_assets_dir()),
        assets_ignore=r"live\.js",
        title="Outfield · history and reports",
        update_title=None,
        suppress_callback_exceptions=True,
    )

    def serve_reports_layout() -> Any:
        if not flask.has_request_context():
            return html.Div()
        actor = auth.current_actor()
        if actor is None or not can(actor, Action.VIEW_ORDERS).allowed:
            return html.Div(html.P(_("Your role may not view the order history.")), className="login")
        may_report = can(actor, Action.VIEW_REPORTS).allowed
        return reports_page.layout(
            actor_name=actor.name, today=localtime.local_day(clock.now(), office), may_report=may_report
        )

    reports_dash.layout = serve_reports_layout
    reports_page.register(reports_dash, reports=reports, auth=auth)

    def worker_card(worker_id: int) -> dict[str, Any] | None:
        actor = auth.require(Action.VIEW_POSITIONS, worker_id=worker_id)
        return services.worker_card(actor=actor, worker_id=worker_id)

    live.register(dash_app, worker_card=worker_card, field=field, auth=auth)
    plans_page.register(
        plans_dash,
        jobs=jobs,
        auth=auth,
        locate=lambda ids: _plan_places(sessions, ids),
        compare=lambda status: compare_with_published(jobs, status),
        apply_plan=dispatch.apply_plan,
        path_of=leg_paths.path,
    )

    def sites_for_picker() -> list[Any]:
        with session_scope(sessions) as session:
            return sites_repo.list_sites(session)

    orders_page.register(dash_app, dispatch=dispatch, auth=auth, list_sites=sites_for_picker, field=field, clock=clock)
    review_dash = review_page.mount(server, auth=auth, reviews=reviews, assets_dir=_assets_dir())
    forms_dash = forms_page.mount(server, auth=auth, forms=forms, assets_dir=_assets_dir())

    socketio = SocketIO(
        server,
        async_mode="threading",
        message_queue=settings.redis_url,
        json=sockets.SocketJson,
        cors_allowed_origins=None,
        logger=False,
        engineio_logger=False,
    )
    sockets.register(
        socketio,
        authenticate=auth.authenticate_socket,
        authenticate_link=field.worker_of_link,
        recheck=auth.socket_recheck,
    )
    # The phones' hot path, in front of everything else (Socket.IO's middleware included).
    server.wsgi_app = OsmandEndpoint(server.wsgi_app, pipeline=pipeline, clock=clock, limits=limits)  # type: ignore[method-assign]

    @server.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable) -> tuple[flask.Response, int, dict[str, str]]:
        # Nothing of the request was stored; phones retry, and a resend of a stored fix is a duplicate.
        return flask.jsonify({"error": f"not stored, retry later: {exc}", "field": None}), 503, {"Retry-After": "1"}

    # Dash prepares itself (registers the scripts it serves) on the first request it sees, and lets
    # requests arriving meanwhile through unprepared: a fresh gunicorn worker answered a browser's
    # simultaneous script requests with 500s. Prepare both apps now, in every worker, before serving.
    for prepared in (dash_app, plans_dash, review_dash, day_dash, forms_dash, reports_dash):
        prepared._setup_server()  # noqa: SLF001 - Dash's own first-request step, run once here instead
    drop_prepared_dash_hooks(server, (dash_app, plans_dash, review_dash, day_dash, forms_dash, reports_dash))
    # After every callback is registered: Dash's inline scripts are allowed by their hashes only.
    security.install_headers(
        server,
        script_hashes=[
            *dash_app.csp_hashes(),
            *plans_dash.csp_hashes(),
            *review_dash.csp_hashes(),
            *day_dash.csp_hashes(),
            *forms_dash.csp_hashes(),
            *reports_dash.csp_hashes(),
        ],
        settings=settings,
    )
    security.warn_about_public_url(settings)
    http_errors.register(
        server,
        dash_apps={
            "/": dash_app,
            plans_page.PATH: plans_dash,
            review_page.PATH: review_dash,
            day_page.PATH: day_dash,
            forms_page.PATH: forms_dash,
            reports_page.PATH: reports_dash,
        },
    )

    return OutfieldApp(server, dash_app, socketio, services, dispatch, bus, stopping)


def _plan_places(sessions: Any, order_ids: Any) -> dict[int, tuple[float, float, str]]:
    """Where each order is, for the plan page's map: {order_id: (lat, lon, site name)}."""
    out: dict[int, tuple[float, float, str]] = {}
    with session_scope(sessions) as session:
        for order_id in order_ids:
            order = orders_repo.get_order(session, order_id)
            site = sites_repo.get_site(session, order.site_id) if order is not None else None
            if site is not None:
                out[order_id] = (site.location.lat, site.location.lon, site.name)
    return out


def _link_version(sessions: Any, worker_id: int) -> int | None:
    with session_scope(sessions) as session:
        return field_repo.link_version(session, worker_id)


def auto_dispatch_policy(types: tuple[str, ...]) -> AutoDispatchPolicy:
    """The order types dispatched automatically; an unknown name stops the server with a clear message."""
    try:
        return AutoDispatchPolicy(frozenset(OrderType(t) for t in types))
    except ValueError:
        known = ", ".join(t.value for t in OrderType)
        raise ValueError(f"OUTFIELD_AUTO_DISPATCH={','.join(types)!r}: use order types from {known}") from None


def assign_params(travel: TravelTimes, zone: tzinfo = UTC) -> AssignParams:
    """Assignment rules for this travel-time provider (the fast path needs its top speed), on the office's clock."""
    if isinstance(travel, StraightLine):
        return AssignParams(max_speed_mps=travel.speed_mps / travel.detour_factor, zone=zone)
    return AssignParams(zone=zone)


def _assets_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent / "assets"


def refuse_demo_secrets(settings: Settings, sessions: Any) -> None:
    """security.InsecureSettings outside demo mode with the demo's secret key or a demo password."""
    if settings.demo:
        return
    with session_scope(sessions) as session:
        demo_users = users_repo.names_with_passwords(session, [(name, pw) for name, pw, _role in DEMO_LOGINS])
    problems = security.production_problems(settings, demo_password_users=demo_users)
    if problems:
        raise security.InsecureSettings("; ".join(problems))

"""Who may do what: roles, the calling actor, and one pure policy function.

Every HTTP view, Dash callback and socket handler asks `can(...)` before it acts, so each rule
lives and is tested in one place (Datasette's `allowed()` shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    MANAGER = "manager"
    FIELD_WORKER = "field_worker"


class Action(StrEnum):
    VIEW_LIVE_MAP = "view-live-map"
    VIEW_POSITIONS = "view-positions"
    REPORT_POSITION = "report-position"
    MANAGE_WORKERS = "manage-workers"
    MANAGE_USERS = "manage-users"
    MANAGE_ORDERS = "manage-orders"
    VIEW_ORDERS = "view-orders"
    PLAN_ROUTES = "plan-routes"
    REVIEW_CHECKINS = "review-checkins"
    VIEW_ALERTS = "view-alerts"
    ACKNOWLEDGE_ALERTS = "acknowledge-alerts"
    MANAGE_FORMS = "manage-forms"
    APPROVE_REPORTS = "approve-reports"
    VIEW_REPORTS = "view-reports"
    MANAGE_WEBHOOKS = "manage-webhooks"
    APPROVE_LATE_ENTRIES = "approve-late-entries"
    VIEW_TIMESHEETS = "view-timesheets"
    APPROVE_TIMESHEETS = "approve-timesheets"
    VIEW_DAY_REPORTS = "view-day-reports"
    MANAGE_SITES = "manage-sites"
    MANAGE_TEAMS = "manage-teams"
    VIEW_AUDIT = "view-audit"
    VIEW_LOCATION_AUDIT = "view-location-audit"


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller. `worker_id` is set for field workers (their own record)."""

    id: int
    name: str
    role: Role
    worker_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


_OFFICE = {Role.ADMIN, Role.DISPATCHER, Role.MANAGER}
_RULES: dict[Action, set[Role]] = {
    Action.VIEW_LIVE_MAP: _OFFICE,
    Action.VIEW_POSITIONS: _OFFICE,
    Action.VIEW_ORDERS: _OFFICE,
    Action.PLAN_ROUTES: _OFFICE,
    Action.MANAGE_ORDERS: {Role.ADMIN, Role.DISPATCHER},
    Action.MANAGE_WORKERS: {Role.ADMIN, Role.DISPATCHER},
    Action.MANAGE_USERS: {Role.ADMIN},
    Action.REPORT_POSITION: {Role.ADMIN},
    # Approving or rejecting a doubtful check-in answers for a worker's pay and a customer's bill: a
    # manager's call (and an admin's), not the dispatcher who may have sent the worker there.
    Action.REVIEW_CHECKINS: {Role.ADMIN, Role.MANAGER},
    Action.VIEW_ALERTS: _OFFICE,
    Action.ACKNOWLEDGE_ALERTS: {Role.ADMIN, Role.DISPATCHER},
    # What the field must report, and whether a report is good enough, is a manager's call too.
    Action.MANAGE_FORMS: {Role.ADMIN, Role.MANAGER},
    Action.APPROVE_REPORTS: {Role.ADMIN, Role.MANAGER},
    # Reports judge people's work: managers and admins. Dispatchers look orders up in the history
    # (view-orders) but do not see the per-worker performance figures.
    Action.VIEW_REPORTS: {Role.ADMIN, Role.MANAGER},
    # Webhooks send the company's events (orders, check-ins, ratings) to another system: an admin's call.
    Action.MANAGE_WEBHOOKS: {Role.ADMIN},
    # Late entries, timesheets and day reports answer for a worker's pay: a manager's (or an admin's) call.
    Action.APPROVE_LATE_ENTRIES: {Role.ADMIN, Role.MANAGER},
    Action.VIEW_TIMESHEETS: {Role.ADMIN, Role.MANAGER},
    Action.APPROVE_TIMESHEETS: {Role.ADMIN, Role.MANAGER},
    Action.VIEW_DAY_REPORTS: {Role.ADMIN, Role.MANAGER},
    # Sites are where dispatchers send people: they add a customer's new site as the call comes in.
    Action.MANAGE_SITES: {Role.ADMIN, Role.DISPATCHER},
    Action.MANAGE_TEAMS: {Role.ADMIN},
    # The whole audit log (who changed which user, worker, site) is the admin's; who looked at whose
    # location is also the managers' to check, as they answer to staff for it.
    Action.VIEW_AUDIT: {Role.ADMIN},
    Action.VIEW_LOCATION_AUDIT: {Role.ADMIN, Role.MANAGER},
}
_OWN_RECORD = (Action.VIEW_POSITIONS, Action.REPORT_POSITION, Action.VIEW_ALERTS)
"""What a field worker may do on their own record only (their fixes, geofence events and alerts)."""


def can(actor: Actor | None, action: Action, *, worker_id: int | None = None) -> Decision:
    """Whether `actor` may perform `action` (on worker `worker_id`, where the action concerns one).

    A field worker may view and report only their own positions, and view only their own alerts.
    """
    if actor is None:
        return Decision(False, "not authenticated")
    if actor.role is Role.FIELD_WORKER and action in _OWN_RECORD:
        if worker_id is not None and worker_id == actor.worker_id:
            return Decision(True)
        return Decision(False, f"a field worker may only {action.value} of their own record")
    if actor.role in _RULES.get(action, set()):
        return Decision(True)
    return Decision(False, f"role {actor.role.value} may not {action.value}")

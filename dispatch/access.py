"""Who may do what: roles, the calling actor, and one pure policy function.

Every HTTP view, Dash callback and socket handler asks `can(...)` before it acts, so each rule
lives and is tested in one place (Datasette's `allowed()` shape).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
    MANAGE_PRIVACY = "manage-privacy"
    """Record consent on paper's behalf, anonymise a leaver, export anyone's data, purge."""
    EXPORT_OWN_DATA = "export-own-data"
    REVOKE_OWN_TOKEN = "revoke-own-token"
    """Revoke the API token the request is made with (a client's sign-out: the demo simulator at its exit)."""


@dataclass(frozen=True, slots=True)
class TeamScope:
    """Which teams' workers (and their orders) an office user sees: every team, or the named ones."""

    all_teams: bool = True
    teams: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if any(not isinstance(t, str) or not t.strip() for t in self.teams):
            raise ValueError("teams: every team name must be a non-empty string")

    @classmethod
    def of(cls, teams: Iterable[str]) -> TeamScope:
        return cls(all_teams=False, teams=frozenset(teams))

    def covers(self, team: str) -> bool:
        """Whether a worker of `team` is in this scope ("" is no team: only an all-teams scope covers it)."""
        return self.all_teams or team in self.teams


ALL_TEAMS = TeamScope()


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller. `worker_id` is set for field workers (their own record)."""

    id: int
    name: str
    role: Role
    worker_id: int | None = None
    scope: TeamScope = ALL_TEAMS


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
    # Consent on paper, anonymising a leaver, anyone's export: the data controller's acts.
    Action.MANAGE_PRIVACY: {Role.ADMIN},
    Action.EXPORT_OWN_DATA: {Role.ADMIN},
    # Whoever holds a token may end it: it takes nothing from anyone else.
    Action.REVOKE_OWN_TOKEN: {Role.ADMIN, Role.DISPATCHER, Role.MANAGER, Role.FIELD_WORKER},
}
_OWN_RECORD = (Action.VIEW_POSITIONS, Action.REPORT_POSITION, Action.VIEW_ALERTS, Action.EXPORT_OWN_DATA)
"""What a field worker may do on their own record only (their fixes, geofence events and alerts)."""
_ALL_TEAMS_ONLY = {Action.PLAN_ROUTES: "a route plan spans every team's workers and orders"}
"""Actions whose subject is the whole organisation: a team-scoped user is refused them rather than shown part."""


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
    if action in _ALL_TEAMS_ONLY and not effective_scope(actor).all_teams:
        return Decision(False, f"a team-scoped user may not {action.value}: {_ALL_TEAMS_ONLY[action]}")
    if actor.role in _RULES.get(action, set()):
        return Decision(True)
    return Decision(False, f"role {actor.role.value} may not {action.value}")


def can_per_worker(actor: Actor | None, action: Action) -> Callable[[int], Decision]:
    """`can(actor, action, worker_id=...)` as a function of the worker, made once: one Decision for every worker
    unless the action is on a field worker's own record (the batch endpoint asks it of every worker of a batch)."""
    if actor is not None and actor.role is Role.FIELD_WORKER and action in _OWN_RECORD:
        return lambda worker_id: can(actor, action, worker_id=worker_id)
    decision = can(actor, action)
    return lambda _worker_id: decision


def effective_scope(actor: Actor) -> TeamScope:
    """The teams `actor` sees: an admin and a field worker (on their own record) are never narrowed."""
    if actor.role in (Role.DISPATCHER, Role.MANAGER):
        return actor.scope
    return ALL_TEAMS


def sees_worker(actor: Actor, team: str) -> bool:
    """Whether `actor` may see a worker of `team` (their fixes, events, alerts, day, tracks)."""
    return effective_scope(actor).covers(team)


def sees_order(actor: Actor, assigned_team: str | None) -> bool:
    """Whether `actor` may see an order whose assigned worker is of `assigned_team` (None: unassigned).

    An order belongs to the team of the worker it is assigned to. An unassigned order belongs to no
    team yet, so every office user sees it (someone has to assign it); a scoped dispatcher may then
    assign it only to a worker of their teams.
    """
    return assigned_team is None or effective_scope(actor).covers(assigned_team)


@dataclass(frozen=True, slots=True)
class Visibility:
    """`sees_worker`/`sees_order` for one actor over known workers' teams ({worker id: team}).

    An id missing from `teams_by_worker` is a worker that does not exist: not visible to a scoped actor.
    """

    actor: Actor
    teams_by_worker: Mapping[int, str]

    @property
    def everything(self) -> bool:
        return effective_scope(self.actor).all_teams

    def worker(self, worker_id: int | None) -> bool:
        if self.everything:
            return True
        team = self.teams_by_worker.get(worker_id) if worker_id is not None else None
        return team is not None and sees_worker(self.actor, team)

    def order(self, assigned_worker_id: int | None) -> bool:
        if self.everything or assigned_worker_id is None:
            return True
        return self.worker(assigned_worker_id)

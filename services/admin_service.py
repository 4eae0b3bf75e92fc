"""Administration use cases: workers (with shifts and leave), sites, users and teams, and the audit log.

One call per user action. Each takes the acting user (the edge has checked their role), reads the
request through the pure readers in `dispatch/` (`worker_input`, `site_input`, `user_input`,
`team_input`: the same rules as the command line and the CSV import), stores in one transaction,
writes the audit entry in that transaction (who, what, the changed fields before and after; a home
base only as "set", never its coordinates) and, after the commit, tells the live map
(`realtime.bus.WORKERS`). A bad request stores nothing.

Failures are `AppError(status, reason, field)`: 400 a bad value, 404 an unknown record, 409 a value
another record holds (a device id, a name) or a change the caller may not make to themself.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, field_repo, privacy_repo, sites_repo, teams_repo, users_repo, workers_repo
from data.db import session_scope
from data.teams_repo import DuplicateName
from dispatch.access import ALL_TEAMS, Actor, TeamScope, sees_worker
from dispatch.clock import Clock
from dispatch.errors import AppError
from dispatch.fields import Conflict, FieldError
from dispatch.geofences import polygon_geojson
from dispatch.privacy import consent_state
from dispatch.sites import Site, site_input
from dispatch.teams import Team, team_input
from dispatch.users import password_value, user_input
from dispatch.workers import Worker, format_shift, leave_input, worker_input
from realtime.bus import WORKERS, Bus
from services import geojson

GENERATED_PASSWORD_BYTES = 12
"""A reset without a chosen password gets a random one of 16 characters, shown once."""


def _new_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn the repositories' refusals into AppErrors (the transaction rolls back); the domain's pass as they are."""
    try:
        yield
    except AppError:
        raise
    except DuplicateName as exc:
        raise AppError(409, str(exc), _field_of(exc)) from None
    except LookupError as exc:
        raise AppError(404, str(exc).split(": ", 1)[-1], _field_of(exc)) from None
    except ValueError as exc:
        raise AppError(409 if "already" in str(exc) else 400, str(exc), _field_of(exc)) from None


def _field_of(exc: Exception) -> str:
    return str(exc).split(":", 1)[0] if ":" in str(exc) else "body"


# Presenters (pure) ------------------------------------------------------------------------------


def worker_json(
    worker: Worker, *, team_id: int | None, leaves: list[workers_repo.LeaveEntry] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": worker.id,
        "name": worker.name,
        "device_id": worker.device_id,
        "skills": sorted(worker.skills),
        "team": worker.team,
        "team_id": team_id,
        "home_base": {"lat": worker.home_base.lat, "lon": worker.home_base.lon} if worker.home_base else None,
        "shifts": [format_shift(s) for s in worker.shifts],
        "active": worker.active,
    }
    if leaves is not None:
        out["leaves"] = [leave_json(leave) for leave in leaves]
    return out


def leave_json(leave: workers_repo.LeaveEntry) -> dict[str, Any]:
    return {"id": leave.id, "start": leave.start.isoformat(), "end": leave.end.isoformat(), "reason": leave.reason}


def worker_summary(worker: Worker) -> dict[str, Any]:
    """What the audit keeps of a worker: every field, the home base only as whether there is one."""
    return {
        "name": worker.name,
        "device_id": worker.device_id,
        "skills": sorted(worker.skills),
        "team": worker.team,
        "home_base": "set" if worker.home_base is not None else None,
        "shifts": [format_shift(s) for s in worker.shifts],
        "active": worker.active,
    }


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields that differ."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def site_json(site: Site, *, customer: str) -> dict[str, Any]:
    polygon = json.loads(polygon_geojson(site.geofence_polygon)) if site.geofence_polygon else None
    return {
        "id": site.id,
        "name": site.name,
        "address": site.address,
        "location": {"lat": site.location.lat, "lon": site.location.lon},
        "geofence_radius_m": site.geofence_radius_m,
        "geofence_polygon": polygon,
        "category": site.category,
        "customer": customer,
        "external_ref": site.external_ref,
    }


def site_summary(site: Site, customer: str) -> dict[str, Any]:
    body = site_json(site, customer=customer)
    body["geofence_polygon"] = f"{len(site.geofence_polygon)} corners" if site.geofence_polygon else None
    body.pop("id")
    return body


def user_json(user: users_repo.UserRecord, teams: tuple[int, ...]) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role.value,
        "active": user.active,
        "teams": list(teams),
        "worker_id": user.worker_id,
        "has_password": user.has_password,
    }


def team_json(team: Team, sizes: Mapping[int, tuple[int, int]]) -> dict[str, Any]:
    workers, users = sizes.get(team.id, (0, 0))
    return {"id": team.id, "name": team.name, "active": team.active, "workers": workers, "users": users}


AUDIT_COLUMNS = ("at", "actor", "action", "subject_type", "subject_id", "details")


def audit_json(entry: audit_repo.AuditEntry, names: Mapping[int, str]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": names.get(entry.actor_id, f"user {entry.actor_id}") if entry.actor_id is not None else "system",
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "details": dict(entry.details),
    }


def audit_csv(entries: list[dict[str, Any]]) -> str:
    """The entries as CSV (one row each, details as JSON); cells a spreadsheet would run as formulas are quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for e in entries:
        row = [e["at"], e["actor"], e["action"], e["subject_type"], e["subject_id"] or "", json.dumps(e["details"])]
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# The service --------------------------------------------------------------------------------------


_UTC = ZoneInfo("UTC")


class AdminService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        bus: Bus,
        new_password: Callable[[], str] = _new_password,
        consent_required: bool = True,
        zone: ZoneInfo = _UTC,
    ) -> None:
        self._sessions = sessions
        self._zone = zone  # the office's: a new worker's shift times are read on its clock
        self._clock = clock
        self._bus = bus
        self._new_password = new_password
        self._consent_required = consent_required  # a worker's marker says when they are not tracked

    def _audit(
        self,
        session: Session,
        actor: Actor,
        action: str,
        subject_type: str,
        subject_id: int | None,
        details: Mapping[str, Any],
    ) -> None:
        audit_repo.record(
            session, actor_id=actor.id, action=action, subject_type=subject_type, subject_id=subject_id,
            at=self._clock.now(), details=details,
        )  # fmt: skip

    # --- workers ---

    def workers(self, actor: Actor) -> list[dict[str, Any]]:
        """The workers `actor` sees (a team-scoped user: their teams' only)."""
        with session_scope(self._sessions) as session:
            workers = [w for w in workers_repo.list_workers(session) if sees_worker(actor, w.team)]
            teams = teams_repo.worker_team_ids(session)
        return [worker_json(w, team_id=teams.get(w.id)) for w in workers]

    def _in_scope(self, session: Session, actor: Actor, worker_id: int) -> None:
        """404 for a worker outside the actor's teams, as for one that does not exist (no existence leak)."""
        worker = workers_repo.get_worker(session, worker_id)
        if worker is None or not sees_worker(actor, worker.team):
            raise AppError(404, f"no worker with id {worker_id}", "worker_id")

    def worker(self, worker_id: int, actor: Actor) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            self._in_scope(session, actor, worker_id)
            worker = workers_repo.get_worker(session, worker_id)
            if worker is None:
                raise AppError(404, f"no worker with id {worker_id}", "worker_id")
            team_id = teams_repo.worker_team_ids(session, [worker_id]).get(worker_id)
            leaves = workers_repo.leaves_of(session, worker_id)
        return worker_json(worker, team_id=team_id, leaves=leaves)

    def create_worker(self, *, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new active worker, drawn on every live map at their home base at once (no fix yet)."""
        with _refusals():
            data = worker_input(body, creating=True)
            with session_scope(self._sessions) as session:
                existing = workers_repo.worker_id_for_device(session, data.device_id)
                if existing is not None:
                    raise Conflict("device_id", f"{data.device_id!r} is already used by worker {existing}")
                team = self._team_of(session, data.given, data.team_id, data.team)
                worker = workers_repo.add_worker(
                    session, name=data.name, device_id=data.device_id, skills=data.skills, shifts=data.shifts,
                    home_base=data.home_base, team=team.name if team else "", timezone=self._zone.key,
                )  # fmt: skip
                if "active" in data.given and not data.active:
                    worker = workers_repo.set_active(session, worker_id=worker.id, active=False)
                self._audit(session, actor, "create-worker", "worker", worker.id, {"after": worker_summary(worker)})
        self._publish_worker(worker)
        return worker_json(worker, team_id=team.id if team else None, leaves=[])

    def update_worker(self, *, actor: Actor, worker_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change the fields sent; deactivating revokes every push link the worker holds and forgets their push
        subscriptions."""
        with session_scope(self._sessions) as session:
            self._in_scope(session, actor, worker_id)
        with _refusals():
            data = worker_input(body, creating=False)
            with session_scope(self._sessions) as session:
                before = workers_repo.get_worker(session, worker_id)
                if before is None:
                    raise LookupError(f"worker_id: no worker with id {worker_id}")
                team_ids = teams_repo.worker_team_ids(session, [worker_id])
                team_id = team_ids.get(worker_id)
                team_name = before.team
                if data.given & {"team", "team_id"}:
                    team = self._team_of(session, data.given, data.team_id, data.team)
                    team_id, team_name = (team.id, team.name) if team else (None, "")
                worker = workers_repo.update_worker(
                    session,
                    worker_id=worker_id,
                    name=data.name if "name" in data.given else before.name,
                    device_id=data.device_id if "device_id" in data.given else before.device_id,
                    skills=data.skills if "skills" in data.given else before.skills,
                    shifts=data.shifts if "shifts" in data.given else before.shifts,
                    home_base=data.home_base if "home_base" in data.given else before.home_base,
                    team=team_name,
                )
                details: dict[str, Any] = {}
                if "active" in data.given and data.active != before.active:
                    worker = workers_repo.set_active(session, worker_id=worker_id, active=data.active)
                    if not data.active:
                        details["push_links_revoked"] = True
                        field_repo.revoke_links(session, worker_id=worker_id, at=self._clock.now())
                        # No reminder reaches a deactivated worker's phone: its push subscriptions go too.
                        details["push_subscriptions_removed"] = privacy_repo.delete_push_subscriptions(
                            session, worker_id=worker_id
                        )
                changed = changes(worker_summary(before), worker_summary(worker))
                if None not in (before.home_base, worker.home_base) and before.home_base != worker.home_base:
                    changed["home_base"] = ["set", "moved"]
                action = "update-worker"
                if "active" in changed:
                    action = "reactivate-worker" if worker.active else "deactivate-worker"
                self._audit(session, actor, action, "worker", worker_id, {"changed": changed, **details})
                leaves = workers_repo.leaves_of(session, worker_id)
        self._publish_worker(worker)
        return worker_json(worker, team_id=team_id, leaves=leaves)

    def _team_of(self, session: Session, given: frozenset[str], team_id: int | None, name: str) -> Team | None:
        """The team a worker's `team_id` or `team` (name) refers to; None for none; FieldError if unknown."""
        if "team_id" in given:
            if team_id is None:
                return None
            team = teams_repo.get_team(session, team_id)
            if team is None:
                raise FieldError("team_id", f"no team with id {team_id}")
            if not team.active:
                raise FieldError("team_id", f"team {team.name!r} is deactivated")
            return team
        if "team" in given and name:
            found = next((t for t in teams_repo.list_teams(session) if t.name == name), None)
            if found is None:
                raise FieldError("team", f"no team named {name!r} (create it under teams first)")
            if not found.active:
                raise FieldError("team", f"team {found.name!r} is deactivated")
            return found
        return None

    def _publish_worker(self, worker: Worker) -> None:
        """Tell every live map: the worker's marker (at their home base until a fix comes; saying so when they are
        not tracked, e.g. a new worker without consent), or that they left."""
        with session_scope(self._sessions) as session:
            consent = consent_state(privacy_repo.latest_consent(session, worker.id))
        why = geojson.untracked_reason(consent, required=self._consent_required)
        self._bus.publish(WORKERS, geojson.worker_message(worker, self._clock.now(), why))

    def add_leave(self, *, actor: Actor, worker_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            self._in_scope(session, actor, worker_id)
        with _refusals():
            leave = leave_input(body)
            with session_scope(self._sessions) as session:
                if workers_repo.get_worker(session, worker_id) is None:
                    raise LookupError(f"worker_id: no worker with id {worker_id}")
                entry = workers_repo.add_leave(
                    session, worker_id=worker_id, start=leave.start, end=leave.end, reason=leave.reason
                )
                self._audit(session, actor, "add-leave", "worker", worker_id, {"after": leave_json(entry)})
        return leave_json(entry)

    def leaves(self, worker_id: int, actor: Actor) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            self._in_scope(session, actor, worker_id)
        with session_scope(self._sessions) as session:
            if workers_repo.get_worker(session, worker_id) is None:
                raise AppError(404, f"no worker with id {worker_id}", "worker_id")
            return [leave_json(e) for e in workers_repo.leaves_of(session, worker_id)]

    def delete_leave(self, *, actor: Actor, worker_id: int, leave_id: int) -> None:
        with session_scope(self._sessions) as session:
            self._in_scope(session, actor, worker_id)
        with session_scope(self._sessions) as session:
            entry = workers_repo.delete_leave(session, worker_id=worker_id, leave_id=leave_id)
            if entry is None:
                raise AppError(404, f"worker {worker_id} has no leave with id {leave_id}", "leave_id")
            self._audit(session, actor, "delete-leave", "worker", worker_id, {"before": leave_json(entry)})

    # --- sites ---

    def sites(self) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            customers = sites_repo.site_customers(session)
            return [site_json(s, customer=customers.get(s.id, "")) for s in sites_repo.list_sites(session)]

    def site(self, site_id: int) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            site = sites_repo.get_site(session, site_id)
            if site is None:
                raise AppError(404, f"no site with id {site_id}", "site_id")
            return site_json(site, customer=sites_repo.site_customers(session).get(site_id, ""))

    def create_site(self, *, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        with _refusals():
            data = site_input(body, creating=True)
            assert data.location is not None  # required when creating
            with session_scope(self._sessions) as session:
                site = sites_repo.add_site(
                    session, name=data.name, location=data.location, address=data.address,
                    geofence_radius_m=data.geofence_radius_m, category=data.category,
                    geofence_polygon=data.geofence_polygon,
                )  # fmt: skip
                sites_repo.set_site_customer(session, site_id=site.id, customer=data.customer)
                self._audit(
                    session, actor, "create-site", "site", site.id, {"after": site_summary(site, data.customer)}
                )
        return site_json(site, customer=data.customer)

    def update_site(self, *, actor: Actor, site_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        with _refusals():
            data = site_input(body, creating=False)
            with session_scope(self._sessions) as session:
                before = sites_repo.get_site(session, site_id)
                if before is None:
                    raise LookupError(f"site_id: no site with id {site_id}")
                customer_before = sites_repo.site_customers(session).get(site_id, "")
                given = data.given
                site = sites_repo.update_site(
                    session,
                    site_id=site_id,
                    name=data.name if "name" in given else before.name,
                    location=data.location if data.location is not None else before.location,
                    address=data.address if "address" in given else before.address,
                    geofence_radius_m=data.geofence_radius_m
                    if "geofence_radius_m" in given
                    else before.geofence_radius_m,
                    category=data.category if "category" in given else before.category,
                    geofence_polygon=data.geofence_polygon if "geofence_polygon" in given else before.geofence_polygon,
                )
                customer = data.customer if "customer" in given else customer_before
                if customer != customer_before:
                    sites_repo.set_site_customer(session, site_id=site_id, customer=customer)
                changed = changes(site_summary(before, customer_before), site_summary(site, customer))
                self._audit(session, actor, "update-site", "site", site_id, {"changed": changed})
        return site_json(site, customer=customer)

    # --- users ---

    def users(self) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            return [user_json(u, teams_repo.user_team_ids(session, u.id)) for u in users_repo.list_users(session)]

    def create_user(self, *, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new active user with their first API token (in the answer only, never stored in clear)."""
        with _refusals():
            data = user_input(body, creating=True)
            with session_scope(self._sessions) as session:
                if users_repo.actor_by_name(session, data.name) is not None:
                    raise Conflict("name", f"a user named {data.name!r} already exists")
                created, token = users_repo.create_user(
                    session, name=data.name, role=data.role, password=data.password, worker_id=data.worker_id,
                    now=self._clock.now(),
                )  # fmt: skip
                teams = teams_repo.set_user_teams(session, user_id=created.id, team_ids=data.teams)
                self._scope_to(session, created.id, teams)
                record = users_repo.get_user(session, created.id)
                assert record is not None
                summary = {"name": record.name, "role": record.role.value, "teams": list(teams), "active": True}
                self._audit(session, actor, "create-user", "user", created.id, {"after": summary})
        return {**user_json(record, teams), "token": token}

    def revoke_own_token(self, *, actor: Actor, token: str) -> None:
        """Revoke the API token `actor` called with (audited as `revoke-token` on their own user)."""
        with session_scope(self._sessions) as session:
            if users_repo.revoke_token(session, token=token, now=self._clock.now()):
                self._audit(session, actor, "revoke-token", "user", actor.id, {"token": "the one used for this call"})

    def update_user(self, *, actor: Actor, user_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change role, teams, active; deactivating ends the user's sessions and revokes their API tokens."""
        with _refusals():
            data = user_input(body, creating=False)
            if user_id == actor.id and data.given & {"role", "active"}:
                field = "active" if "active" in data.given else "role"
                raise Conflict(field, "you may not change your own role or deactivate yourself (ask another admin)")
            with session_scope(self._sessions) as session:
                before = users_repo.get_user(session, user_id)
                if before is None:
                    raise LookupError(f"user_id: no user with id {user_id}")
                teams_before = teams_repo.user_team_ids(session, user_id)
                details: dict[str, Any] = {}
                if "role" in data.given and data.role != before.role:
                    users_repo.set_role(session, user_id=user_id, role=data.role)
                teams = teams_before
                if "teams" in data.given:
                    teams = teams_repo.set_user_teams(session, user_id=user_id, team_ids=data.teams)
                    self._scope_to(session, user_id, teams)
                if "active" in data.given and data.active != before.active:
                    users_repo.set_active(session, user_id=user_id, active=data.active)
                    if not data.active:
                        details["tokens_revoked"] = users_repo.revoke_user_tokens(
                            session, user_id=user_id, now=self._clock.now()
                        )
                        details["sessions_ended"] = True
                after = users_repo.get_user(session, user_id)
                assert after is not None
                changed = changes(
                    {"role": before.role.value, "teams": list(teams_before), "active": before.active},
                    {"role": after.role.value, "teams": list(teams), "active": after.active},
                )
                action = "update-user"
                if "active" in changed:
                    action = "reactivate-user" if after.active else "deactivate-user"
                self._audit(session, actor, action, "user", user_id, {"changed": changed, **details})
        return user_json(after, teams)

    def _scope_to(self, session: Session, user_id: int, team_ids: tuple[int, ...]) -> None:
        """The teams a user belongs to are the teams they see (the team scope `dispatch.access` enforces);
        a user in no team sees every team. `PUT /api/v1/users/{id}/scope` sets a scope directly."""
        names = [team.name for i in team_ids if (team := teams_repo.get_team(session, i)) is not None]
        users_repo.set_scope(session, user_id=user_id, scope=TeamScope.of(names) if names else ALL_TEAMS)

    def reset_password(self, *, actor: Actor, user_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Set a new password (the one sent, or a generated one shown once); ends every session and token."""
        with _refusals():
            if set(body) - {"password"}:
                raise FieldError(sorted(set(body) - {"password"})[0][:60], "is not a field here (known: password)")
            password = password_value(body) if body.get("password") is not None else self._new_password()
            if user_id == actor.id:
                raise Conflict(
                    "user_id", "reset another user's password; change your own with `python -m data set-password`"
                )
            with session_scope(self._sessions) as session:
                if users_repo.get_user(session, user_id) is None:
                    raise LookupError(f"user_id: no user with id {user_id}")
                users_repo.set_password(session, user_id=user_id, password=password)
                revoked = users_repo.revoke_user_tokens(session, user_id=user_id, now=self._clock.now())
                details = {"sessions_ended": True, "tokens_revoked": revoked, "generated": "password" not in body}
                self._audit(session, actor, "reset-password", "user", user_id, details)
        return {"user_id": user_id, "password": password, "tokens_revoked": revoked}

    # --- teams ---

    def teams(self) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            sizes = teams_repo.team_sizes(session)
            return [team_json(t, sizes) for t in teams_repo.list_teams(session)]

    def create_team(self, *, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        with _refusals():
            data = team_input(body, creating=True)
            with session_scope(self._sessions) as session:
                team = teams_repo.add_team(session, name=data.name)
                if "active" in data.given and not data.active:
                    team = teams_repo.update_team(session, team_id=team.id, active=False)
                self._audit(
                    session,
                    actor,
                    "create-team",
                    "team",
                    team.id,
                    {"after": {"name": team.name, "active": team.active}},
                )
        return team_json(team, {})

    def update_team(self, *, actor: Actor, team_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Rename or (de)activate a team; a rename reaches its workers' team name at once."""
        with _refusals():
            data = team_input(body, creating=False)
            with session_scope(self._sessions) as session:
                before = teams_repo.get_team(session, team_id)
                if before is None:
                    raise LookupError(f"team_id: no team with id {team_id}")
                team = teams_repo.update_team(
                    session, team_id=team_id, name=data.name if "name" in data.given else None,
                    active=data.active if "active" in data.given else None,
                )  # fmt: skip
                changed = changes(
                    {"name": before.name, "active": before.active}, {"name": team.name, "active": team.active}
                )
                self._audit(session, actor, "update-team", "team", team_id, {"changed": changed})
                sizes = teams_repo.team_sizes(session)
        return team_json(team, sizes)

    def delete_team(self, *, actor: Actor, team_id: int) -> None:
        """Remove a team: its workers keep working without a team, its members lose the membership."""
        with session_scope(self._sessions) as session:
            team = teams_repo.delete_team(session, team_id=team_id)
            if team is None:
                raise AppError(404, f"no team with id {team_id}", "team_id")
            self._audit(session, actor, "delete-team", "team", team_id, {"before": {"name": team.name}})

    # --- the audit log ---

    def audit(
        self,
        *,
        actor: Actor,
        location_views_only: bool,
        start: datetime | None,
        end: datetime | None,
        actor_name: str | None,
        action: str | None,
        worker_id: int | None,
    ) -> list[dict[str, Any]] | None:
        """Entries newest first (at most 1000) matching the filters; None when `actor_name` is nobody's.

        Reading the log is itself audited (`view-audit`, with the filters).
        """
        with session_scope(self._sessions) as session:
            names = audit_repo.user_names(session)
            actor_id = None
            if actor_name:
                actor_id = next((i for i, n in names.items() if n == actor_name), None)
                if actor_id is None and actor_name.isascii() and actor_name.isdigit() and int(actor_name) in names:
                    actor_id = int(actor_name)
                if actor_id is None:
                    return None
            entries = audit_repo.search_audit(
                session, start=start, end=end, actor_id=actor_id, action=action, worker_id=worker_id,
                location_views_only=location_views_only,
            )  # fmt: skip
            filters = {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
                       "actor": actor_name, "action": action, "worker_id": worker_id, "count": len(entries)}  # fmt: skip
            self._audit(session, actor, "view-audit", "audit", None, filters)
        return [audit_json(e, names) for e in entries]

"""Teams, as `dispatch.teams.Team` values, and which users belong to which team.

A worker's team is a reference (`workers.team_id`) beside its name (`workers.team`), set together by
`workers_repo` (a name with no team yet gets one); renaming a team renames it on its workers too, so
code reading `Worker.team` always sees the current name.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from data.tables import TeamRow, UserRow, UserTeamRow, WorkerRow
from dispatch.teams import Team, team_name


def _to_domain(row: TeamRow) -> Team:
    return Team(id=row.id, name=row.name, active=row.active)


def add_team(session: Session, *, name: str) -> Team:
    """Store a new, active team; ValueError naming `name` when it is empty or taken."""
    name = team_name(name)
    _check_free(session, name, team_id=None)
    row = TeamRow(name=name, active=True)
    session.add(row)
    session.flush()
    return _to_domain(row)


def _check_free(session: Session, name: str, *, team_id: int | None) -> None:
    existing = session.scalar(select(TeamRow.id).where(TeamRow.name == name))
    if existing is not None and existing != team_id:
        raise DuplicateName(f"name: a team named {name!r} already exists (team {existing})")


class DuplicateName(ValueError):
    """The value is taken by another record (a conflict, not a malformed value)."""


def update_team(session: Session, *, team_id: int, name: str | None = None, active: bool | None = None) -> Team:
    """Rename and/or (de)activate a team; its workers' team name follows a rename."""
    row = session.get(TeamRow, team_id)
    if row is None:
        raise LookupError(f"team_id: no team with id {team_id}")
    if name is not None:
        name = team_name(name)
        _check_free(session, name, team_id=team_id)
        row.name = name
        session.execute(update(WorkerRow).where(WorkerRow.team_id == team_id).values(team=name))
    if active is not None:
        row.active = active
    session.flush()
    return _to_domain(row)


def get_team(session: Session, team_id: int) -> Team | None:
    row = session.get(TeamRow, team_id)
    return _to_domain(row) if row is not None else None


def list_teams(session: Session) -> list[Team]:
    """Every team, by name."""
    return [_to_domain(r) for r in session.scalars(select(TeamRow).order_by(TeamRow.name, TeamRow.id))]


def team_sizes(session: Session) -> dict[int, tuple[int, int]]:
    """(workers, users) per team id."""
    out: dict[int, list[int]] = {}
    for team_id in session.scalars(select(WorkerRow.team_id).where(WorkerRow.team_id.is_not(None))):
        out.setdefault(team_id, [0, 0])[0] += 1
    for team_id in session.scalars(select(UserTeamRow.team_id)):
        out.setdefault(team_id, [0, 0])[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def worker_team_ids(session: Session, worker_ids: Iterable[int] | None = None) -> dict[int, int | None]:
    """Each worker's team id (None: no team reference)."""
    query = select(WorkerRow.id, WorkerRow.team_id)
    if worker_ids is not None:
        query = query.where(WorkerRow.id.in_(list(worker_ids)))
    return {worker_id: team_id for worker_id, team_id in session.execute(query)}


def user_team_ids(session: Session, user_id: int) -> tuple[int, ...]:
    """The ids of the teams a user belongs to, ascending."""
    rows = session.scalars(
        select(UserTeamRow.team_id).where(UserTeamRow.user_id == user_id).order_by(UserTeamRow.team_id)
    )
    return tuple(rows)


def set_user_teams(session: Session, *, user_id: int, team_ids: Iterable[int]) -> tuple[int, ...]:
    """Make the user a member of exactly `team_ids`; ValueError naming `teams` for an unknown team."""
    if session.get(UserRow, user_id) is None:
        raise LookupError(f"user_id: no user with id {user_id}")
    wanted = sorted(set(team_ids))
    known = set(session.scalars(select(TeamRow.id).where(TeamRow.id.in_(wanted))))
    missing = [t for t in wanted if t not in known]
    if missing:
        raise ValueError(f"teams: no team with id {', '.join(map(str, missing))}")
    session.execute(delete(UserTeamRow).where(UserTeamRow.user_id == user_id))
    for team_id in wanted:
        session.add(UserTeamRow(user_id=user_id, team_id=team_id))
    session.flush()
    return tuple(wanted)


def delete_team(session: Session, *, team_id: int) -> Team | None:
    """Remove a team: its workers keep their record without a team, memberships go; None for an unknown team."""
    row = session.get(TeamRow, team_id)
    if row is None:
        return None
    team = _to_domain(row)
    session.execute(update(WorkerRow).where(WorkerRow.team_id == team_id).values(team_id=None, team=""))
    session.execute(delete(UserTeamRow).where(UserTeamRow.team_id == team_id))
    session.delete(row)
    session.flush()
    return team

from __future__ import annotations

import pytest

from dispatch.access import Action, Actor, Role, can, can_per_worker

ADMIN = Actor(1, "root", Role.ADMIN)
DISPATCHER = Actor(2, "disp", Role.DISPATCHER)
WORKER = Actor(3, "ana", Role.FIELD_WORKER, worker_id=7)


def test_nobody_may_do_anything():
    """Tests that an unauthenticated caller is refused with the reason 'not authenticated'."""
    assert can(None, Action.VIEW_LIVE_MAP).reason == "not authenticated"


def test_dispatcher_sees_the_map_but_cannot_manage_users():
    """Tests the dispatcher's scope: live map yes, user management no, with a reason naming the role."""
    assert can(DISPATCHER, Action.VIEW_LIVE_MAP).allowed
    decision = can(DISPATCHER, Action.MANAGE_USERS)
    assert not decision.allowed and "dispatcher" in decision.reason


@pytest.mark.parametrize("action", [Action.VIEW_POSITIONS, Action.REPORT_POSITION, Action.VIEW_ALERTS])
def test_field_worker_only_own_positions(action):
    """Tests that a field worker may read and report their own positions and nobody else's."""
    assert can(WORKER, action, worker_id=7).allowed
    assert not can(WORKER, action, worker_id=8).allowed
    assert not can(WORKER, Action.VIEW_LIVE_MAP).allowed


def test_admin_may_report_for_any_worker():
    """Tests that the admin token (bench, integrations) may report positions in bulk."""
    assert can(ADMIN, Action.REPORT_POSITION, worker_id=99).allowed


def test_only_managers_and_admins_review_checkins():
    """Tests that managers and admins may approve or reject a check-in; a dispatcher and a field worker may not."""
    assert can(Actor(4, "boss", Role.MANAGER), Action.REVIEW_CHECKINS).allowed
    assert can(ADMIN, Action.REVIEW_CHECKINS).allowed
    decision = can(DISPATCHER, Action.REVIEW_CHECKINS)
    assert (decision.allowed, decision.reason) == (False, "role dispatcher may not review-checkins")
    assert not can(WORKER, Action.REVIEW_CHECKINS).allowed


def test_office_users_see_every_alert_and_dispatchers_acknowledge_them():
    """Tests that office roles see everyone's alerts, dispatchers and admins acknowledge, managers and field workers not."""
    manager = Actor(4, "boss", Role.MANAGER)
    assert can(manager, Action.VIEW_ALERTS, worker_id=8).allowed
    assert can(DISPATCHER, Action.ACKNOWLEDGE_ALERTS).allowed and can(ADMIN, Action.ACKNOWLEDGE_ALERTS).allowed
    assert "manager" in can(manager, Action.ACKNOWLEDGE_ALERTS).reason
    assert not can(WORKER, Action.ACKNOWLEDGE_ALERTS).allowed
    assert not can(WORKER, Action.VIEW_ALERTS).allowed  # without naming their own record


def test_reports_are_for_managers_and_admins_history_for_the_office():
    """Tests that managers and admins open reports, a dispatcher is refused them with a reason but may
    still look orders up, and a field worker may do neither."""
    manager = Actor(4, "boss", Role.MANAGER)
    assert can(manager, Action.VIEW_REPORTS).allowed and can(ADMIN, Action.VIEW_REPORTS).allowed
    decision = can(DISPATCHER, Action.VIEW_REPORTS)
    assert not decision.allowed and decision.reason == "role dispatcher may not view-reports"
    assert can(DISPATCHER, Action.VIEW_ORDERS).allowed
    assert not can(WORKER, Action.VIEW_REPORTS).allowed and not can(WORKER, Action.VIEW_ORDERS).allowed


@pytest.mark.parametrize(
    "action",
    [Action.APPROVE_LATE_ENTRIES, Action.VIEW_TIMESHEETS, Action.APPROVE_TIMESHEETS, Action.VIEW_DAY_REPORTS],
)
def test_attendance_decisions_are_for_managers_and_admins(action):
    """Tests that late entries, timesheets and day reports (a worker's pay) are a manager's or admin's, with a
    reason for the dispatcher and nothing for a field worker."""
    assert can(Actor(4, "boss", Role.MANAGER), action).allowed and can(ADMIN, action).allowed
    assert can(DISPATCHER, action).reason == f"role dispatcher may not {action.value}"
    assert not can(WORKER, action).allowed


def test_the_whole_audit_log_is_the_admins_and_location_views_also_the_managers():
    """Tests that only an admin reads the whole audit log, a manager reads who viewed whose location, and a
    dispatcher and a field worker read neither."""
    manager = Actor(4, "boss", Role.MANAGER)
    assert can(ADMIN, Action.VIEW_AUDIT).allowed and can(ADMIN, Action.VIEW_LOCATION_AUDIT).allowed
    assert (can(manager, Action.VIEW_AUDIT).allowed, can(manager, Action.VIEW_LOCATION_AUDIT).allowed) == (False, True)
    assert can(DISPATCHER, Action.VIEW_LOCATION_AUDIT).reason == "role dispatcher may not view-location-audit"
    assert not can(WORKER, Action.VIEW_LOCATION_AUDIT).allowed


def test_admins_manage_teams_and_dispatchers_may_add_sites():
    """Tests that teams are the admin's alone, while sites are managed by admins and dispatchers (not managers)."""
    manager = Actor(4, "boss", Role.MANAGER)
    assert can(ADMIN, Action.MANAGE_TEAMS).allowed
    assert not can(DISPATCHER, Action.MANAGE_TEAMS).allowed and not can(manager, Action.MANAGE_TEAMS).allowed
    assert can(DISPATCHER, Action.MANAGE_SITES).allowed and can(ADMIN, Action.MANAGE_SITES).allowed
    assert not can(manager, Action.MANAGE_SITES).allowed


def test_a_team_scoped_dispatcher_sees_only_their_teams_workers_and_unassigned_orders():
    """Tests that a dispatcher scoped to `north` sees north's workers and orders and unassigned orders, not
    south's or workers with no team; an all-teams dispatcher and an admin see every team."""
    from dispatch.access import TeamScope, Visibility, sees_order, sees_worker

    north = Actor(5, "nd", Role.DISPATCHER, scope=TeamScope.of(["north"]))
    assert sees_worker(north, "north") and not sees_worker(north, "south") and not sees_worker(north, "")
    assert sees_order(north, None) and sees_order(north, "north") and not sees_order(north, "south")
    assert sees_worker(DISPATCHER, "south") and sees_worker(Actor(6, "a", Role.ADMIN, scope=TeamScope.of(["x"])), "y")
    visible = Visibility(north, {1: "north", 2: "south"})
    assert (visible.worker(1), visible.worker(2), visible.worker(3)) == (True, False, False)
    assert (visible.order(None), visible.order(1), visible.order(2)) == (True, True, False)


def test_a_team_scoped_user_may_not_plan_routes_which_span_every_team():
    """Tests that route planning is refused to a team-scoped manager with the reason, and allowed unscoped."""
    from dispatch.access import TeamScope

    scoped = Actor(7, "nm", Role.MANAGER, scope=TeamScope.of(["north"]))
    decision = can(scoped, Action.PLAN_ROUTES)
    assert not decision.allowed and "team-scoped" in decision.reason
    assert can(Actor(8, "m", Role.MANAGER), Action.PLAN_ROUTES).allowed
    assert can(scoped, Action.VIEW_LIVE_MAP).allowed


def test_a_team_scope_refuses_empty_team_names():
    """Tests that a scope naming an empty team is refused naming `teams`."""
    from dispatch.access import TeamScope

    with pytest.raises(ValueError, match="^teams:"):
        TeamScope.of(["north", " "])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_a_decision_made_once_per_actor_is_cans_for_every_worker(role: Role, action: Action) -> None:
    """Tests that `can_per_worker` answers for each worker what `can` does: a field worker's own record and another's,
    every role and action, and nobody signed in."""
    actor = Actor(id=1, name="x", role=role, worker_id=7 if role is Role.FIELD_WORKER else None)
    for who in (actor, None):
        per_worker = can_per_worker(who, action)
        for worker_id in (7, 8):
            assert per_worker(worker_id) == can(who, action, worker_id=worker_id)

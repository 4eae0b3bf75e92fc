"""Report sums kept per month (SQLite): a year's report reads twelve months of sums, not every order.

`report_month_sums` holds `dispatch.reports.SUM_COLUMNS` per (month, worker, team, order type) for months
that are over; `report_months.generation` counts the changes triggers saw to a month's orders (by window
start, UTC month), their check-ins and survey ratings, and to any worker's team (every month). Sums kept at
generation g are used only while the month's generation is still g (`data/reports_repo.order_sums`).

A later migration that rebuilds one of these tables on SQLite (alembic's batch mode copies the table) drops
its triggers with the old table and must create them again: `tests/data/test_report_months.py` fails if a
change made at the newest schema does not reach a kept month.

PostgreSQL gets the tables (one schema for both) but no triggers: it sums a report's orders directly.

Report periods are the office's local days from now on (`dispatch.reports.Period.zone`): the kilometres
kept per UTC day (`worker_day_km`, `km_days`) are forgotten, and summed again per local day when asked.
Workers stored without a time zone get the office's (`OUTFIELD_TIMEZONE` when the migration runs).

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-04 23:40:00+00:00
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0014"
branch_labels = None
depends_on = None

SUM_FIELDS = (
    "orders", "visits_done", "checked_in", "verified", "anomalous", "on_site", "on_time", "attempted",
    "first_time_fix", "assign_sum_s", "assign_n", "response_sum_s", "response_n", "handling_sum_s", "handling_n",
    "on_site_s", "rating_sum", "rating_n",
)  # fmt: skip

BUMP_MONTH = (
    "INSERT INTO report_months (month, generation) VALUES (substr({}, 1, 7), 1) "
    "ON CONFLICT (month) DO UPDATE SET generation = generation + 1;"
).format
BUMP_ORDER_MONTH = (
    "INSERT INTO report_months (month, generation) SELECT substr(window_start, 1, 7), 1 FROM work_orders "
    "WHERE id = {} ON CONFLICT (month) DO UPDATE SET generation = generation + 1;"
).format
BUMP_ALL = "UPDATE report_months SET generation = generation + 1;"
ORDER_COLUMNS = (
    "assigned_worker_id, type, status, window_start, window_end, created_at, assigned_at, on_site_at, ended_at, "
    "failed_once"
)

TRIGGERS = {
    "report_months_order_insert": f"AFTER INSERT ON work_orders BEGIN {BUMP_MONTH('new.window_start')} END",
    "report_months_order_update": f"AFTER UPDATE OF {ORDER_COLUMNS} ON work_orders BEGIN "
    f"{BUMP_MONTH('old.window_start')} {BUMP_MONTH('new.window_start')} END",
    "report_months_order_delete": f"AFTER DELETE ON work_orders BEGIN {BUMP_MONTH('old.window_start')} END",
    "report_months_checkin_insert": f"AFTER INSERT ON checkins BEGIN {BUMP_ORDER_MONTH('new.order_id')} END",
    "report_months_checkin_update": "AFTER UPDATE OF order_id, kind, verdict ON checkins BEGIN "
    f"{BUMP_ORDER_MONTH('old.order_id')} {BUMP_ORDER_MONTH('new.order_id')} END",
    "report_months_checkin_delete": f"AFTER DELETE ON checkins BEGIN {BUMP_ORDER_MONTH('old.order_id')} END",
    "report_months_survey_insert": f"AFTER INSERT ON survey_answers BEGIN {BUMP_ORDER_MONTH('new.order_id')} END",
    "report_months_survey_update": "AFTER UPDATE OF order_id, rating ON survey_answers BEGIN "
    f"{BUMP_ORDER_MONTH('old.order_id')} {BUMP_ORDER_MONTH('new.order_id')} END",
    "report_months_survey_delete": f"AFTER DELETE ON survey_answers BEGIN {BUMP_ORDER_MONTH('old.order_id')} END",
    "report_months_worker_team": f"AFTER UPDATE OF team ON workers WHEN old.team IS NOT new.team BEGIN {BUMP_ALL} END",
    "report_months_worker_delete": f"AFTER DELETE ON workers BEGIN {BUMP_ALL} END",
}


def upgrade() -> None:
    op.create_table(
        "report_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("kept_generation", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_report_months")),
    )
    op.create_table(
        "report_month_sums",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        *[sa.Column(name, sa.Float(), nullable=False) for name in SUM_FIELDS],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_month_sums")),
    )
    op.create_index(op.f("ix_report_month_sums_month"), "report_month_sums", ["month"])
    # Reports now cut days at the office's midnight, not UTC's: kilometres kept per UTC day are summed again.
    op.execute("DELETE FROM worker_day_km")
    op.execute("DELETE FROM km_days")
    # Workers stored without a zone had their shift times read as UTC; every worker made since (CLI, CSV, admin
    # screens) is stored in the office's zone. Give the older ones the office's zone too (OUTFIELD_TIMEZONE, as
    # `python -m data migrate` runs with the console's settings), so that "Mon-Fri 08:00-17:00" means the office's
    # eight o'clock for everyone.
    office = os.environ.get("OUTFIELD_TIMEZONE") or "Europe/Monaco"
    try:
        ZoneInfo(office)
    except (ZoneInfoNotFoundError, ValueError):
        office = "UTC"  # what they were read in until now
    op.execute(sa.text("UPDATE workers SET timezone = :zone WHERE timezone IS NULL").bindparams(zone=office))
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_report_month_sums_month"), table_name="report_month_sums")
    op.drop_table("report_month_sums")
    op.drop_table("report_months")

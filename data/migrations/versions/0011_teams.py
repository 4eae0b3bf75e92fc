"""Teams: the `teams` table, a worker's team reference and the users' team memberships.

`workers.team` stays as the team's name (read by reports, the live map and imports); `team_id` is
the reference kept in step with it. Every team name workers carry today becomes a team.

Revision ID: 0011
Revises: 0017
Create Date: 2026-12-04 20:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
# The brief said "0010"; main already has 0017 on 0010, so this follows 0017 to keep a single head.
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "user_teams",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_teams_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_user_teams_team_id_teams"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "team_id", name=op.f("pk_user_teams")),
    )  # fmt: skip
    op.create_index(op.f("ix_user_teams_team_id"), "user_teams", ["team_id"])
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_workers_team_id_teams"), "teams", ["team_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_workers_team_id"), ["team_id"], unique=False)
    # Every team name workers already carry becomes a team, and its workers refer to it.
    bind = op.get_bind()
    names = [r[0] for r in bind.execute(sa.text("SELECT DISTINCT team FROM workers WHERE team <> ''")) if r[0]]
    for name in sorted(names):
        bind.execute(sa.text("INSERT INTO teams (name, active) VALUES (:name, :active)"), {"name": name, "active": True})
    bind.execute(sa.text("UPDATE workers SET team_id = (SELECT teams.id FROM teams WHERE teams.name = workers.team) WHERE team <> ''"))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_index(op.f("ix_workers_team_id"))
        batch.drop_constraint(op.f("fk_workers_team_id_teams"), type_="foreignkey")
        batch.drop_column("team_id")
    op.drop_index(op.f("ix_user_teams_team_id"), table_name="user_teams")
    op.drop_table("user_teams")
    op.drop_table("teams")

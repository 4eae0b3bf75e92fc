"""Custom forms per order type (versioned) and report approval; today's checklists become version 1 forms.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:00:00+00:00

Reports keep the form version they were filled with (`service_reports.form_id`) and their answers;
a report sent before this revision keeps its ticked checklist and has no form. Each order type's
old hard-coded checklist is stored as its version 1 form (optional checkboxes, no approval), so the
phone shows the same items as before and nothing existing changes meaning.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from data.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The checklists as console/field_service.py hard-coded them up to this revision (frozen here on purpose).
CHECKLISTS: dict[str, tuple[str, ...]] = {
    "visit": ("Met the customer", "Agenda covered", "Next step agreed"),
    "repair": ("Fault found", "Part replaced or fixed", "Tested after repair", "Area left clean"),
    "inspection": ("Safety check passed", "Meter read", "Photos of the installation taken"),
    "delivery": ("Goods handed over", "Packaging intact", "Recipient identified"),
    "emergency": ("Site made safe", "Cause identified", "Customer informed"),
}
SEEDED_AT = datetime(2026, 12, 4, tzinfo=UTC)


def _field_id(label: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in label.lower())
    while "__" in slug:
        slug = slug.replace("__", "_")
    return slug.strip("_")[:40].rstrip("_")


def upgrade() -> None:
    forms = op.create_table(
        "forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_type", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_forms_created_by_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forms")),
        sa.UniqueConstraint("order_type", "version", name=op.f("uq_forms_order_type_version")),
    )  # fmt: skip
    op.create_index(op.f("ix_forms_order_type"), "forms", ["order_type"])
    op.bulk_insert(
        forms,
        [
            {
                "order_type": order_type, "version": 1, "name": f"{order_type.capitalize()} checklist",
                "fields": [{"id": _field_id(label), "label": label, "type": "checkbox", "required": False}
                           for label in items],
                "needs_approval": False, "created_by": None, "created_at": SEEDED_AT,
            }  # fmt: skip
            for order_type, items in CHECKLISTS.items()
        ],
    )
    with op.batch_alter_table("service_reports") as batch:
        batch.add_column(sa.Column("form_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("answers", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=20), server_default="submitted", nullable=False))
        batch.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), server_default="", nullable=False))
        batch.create_foreign_key(
            op.f("fk_service_reports_form_id_forms"), "forms", ["form_id"], ["id"], ondelete="RESTRICT"
        )
        batch.create_foreign_key(
            op.f("fk_service_reports_reviewed_by_users"), "users", ["reviewed_by"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_service_reports_form_id"), ["form_id"])
        batch.create_index(op.f("ix_service_reports_status"), ["status"])


def downgrade() -> None:
    with op.batch_alter_table("service_reports") as batch:
        batch.drop_index(op.f("ix_service_reports_status"))
        batch.drop_index(op.f("ix_service_reports_form_id"))
        batch.drop_constraint(op.f("fk_service_reports_reviewed_by_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_service_reports_form_id_forms"), type_="foreignkey")
        for column in ("review_note", "reviewed_at", "reviewed_by", "status", "answers", "form_id"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_forms_order_type"), "forms")
    op.drop_table("forms")

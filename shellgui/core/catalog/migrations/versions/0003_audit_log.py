"""The audit log of user actions (edits, decisions, deletes, undo) and who made each identification entry.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("specimen_id", sa.Integer),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("undone_by_id", sa.Integer, sa.ForeignKey("audit_log.id", ondelete="SET NULL")),
    )
    op.create_index("ix_audit_log_specimen_id", "audit_log", ["specimen_id"])
    with op.batch_alter_table("identifications") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(200)))
        batch.add_column(sa.Column("action_id", sa.Integer))
        batch.create_foreign_key(
            "fk_identifications_action_id_audit_log", "audit_log", ["action_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_identifications_action_id", ["action_id"])
    # Before this revision a person's check was recorded only as identifiedBy.
    op.execute(
        "UPDATE identifications SET decided_by = identified_by "
        "WHERE verification_status = 'ValidatedByHuman' AND identified_by IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("identifications") as batch:
        batch.drop_index("ix_identifications_action_id")
        batch.drop_constraint("fk_identifications_action_id_audit_log", type_="foreignkey")
        batch.drop_column("action_id")
        batch.drop_column("decided_by")
    op.drop_index("ix_audit_log_specimen_id", "audit_log")
    op.drop_table("audit_log")

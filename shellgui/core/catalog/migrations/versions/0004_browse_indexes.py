"""Indexes for browsing a large catalogue: the newest identification per specimen, sorted columns.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_identifications_specimen_newest", "identifications", ["specimen_id", "id"])
    op.create_index("ix_specimens_locality", "specimens", ["locality"])
    op.create_index("ix_specimens_collector", "specimens", ["collector"])
    op.create_index("ix_specimens_collected_on", "specimens", ["collected_on"])


def downgrade() -> None:
    op.drop_index("ix_specimens_collected_on", "specimens")
    op.drop_index("ix_specimens_collector", "specimens")
    op.drop_index("ix_specimens_locality", "specimens")
    op.drop_index("ix_identifications_specimen_newest", "identifications")

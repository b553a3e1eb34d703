"""Photo thumbnails for the catalogue table; remarks on identifications ("not identifiable", why).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("thumbnail", sa.LargeBinary))
    with op.batch_alter_table("identifications") as batch:
        batch.add_column(sa.Column("remarks", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("identifications") as batch:
        batch.drop_column("remarks")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("thumbnail")

"""Photos: the hash of what the pixels are decoded from (a photo edited in place is the same photo), and
sizes of files over 2 GiB (BigInteger, for PostgreSQL).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.alter_column(
            "size_bytes", type_=sa.BigInteger, existing_type=sa.Integer, existing_nullable=False
        )
        batch.add_column(sa.Column("pixel_sha256", sa.String(64)))
        batch.create_index("ix_photos_pixel_sha256", ["pixel_sha256"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.drop_index("ix_photos_pixel_sha256")
        batch.drop_column("pixel_sha256")
        batch.alter_column(
            "size_bytes", type_=sa.Integer, existing_type=sa.BigInteger, existing_nullable=False
        )

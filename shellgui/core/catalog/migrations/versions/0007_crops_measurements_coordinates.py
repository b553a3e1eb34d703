"""Collector photos and museum records: the crop of a photo that was identified, measurements of a
specimen (DwC MeasurementOrFact), and a specimen's coordinates (DwC decimalLatitude/decimalLongitude).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("specimens") as batch:
        batch.add_column(sa.Column("decimal_latitude", sa.Float))
        batch.add_column(sa.Column("decimal_longitude", sa.Float))
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("crop", sa.JSON))
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "specimen_id", sa.Integer, sa.ForeignKey("specimens.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id", ondelete="SET NULL")),
        sa.Column("measurement_type", sa.String(100), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("method", sa.JSON),
        sa.Column("measured_by", sa.String(200)),
        sa.Column("measured_at", sa.DateTime, nullable=False),
        sa.Column("remarks", sa.Text),
    )
    op.create_index("ix_measurements_specimen_id", "measurements", ["specimen_id"])


def downgrade() -> None:
    op.drop_index("ix_measurements_specimen_id", table_name="measurements")
    op.drop_table("measurements")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("crop")
    with op.batch_alter_table("specimens") as batch:
        batch.drop_column("decimal_longitude")
        batch.drop_column("decimal_latitude")

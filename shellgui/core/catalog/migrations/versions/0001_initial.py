"""The first catalogue schema: specimens, photos, runs, run items, identifications.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "specimens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("catalog_number", sa.String(64), unique=True),
        sa.Column("locality", sa.Text),
        sa.Column("collector", sa.String(200)),
        sa.Column("collected_on", sa.String(32)),
        sa.Column("notes", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "specimen_id", sa.Integer, sa.ForeignKey("specimens.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("format", sa.String(16)),
        sa.Column("taken_at", sa.String(32)),
        sa.Column("camera", sa.String(200)),
        sa.Column("gps_lat", sa.Float),
        sa.Column("gps_lon", sa.Float),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_photos_specimen_id", "photos", ["specimen_id"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
    )
    op.create_table(
        "run_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id", ondelete="SET NULL")),
        sa.UniqueConstraint("run_id", "path", name="uq_run_items_run_path"),
    )
    op.create_index("ix_run_items_run_id", "run_items", ["run_id"])
    op.create_table(
        "identifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "specimen_id", sa.Integer, sa.ForeignKey("specimens.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("taxon", sa.String(200)),
        sa.Column("rank", sa.String(16), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("top_k", sa.JSON),
        sa.Column("model_name", sa.String(200)),
        sa.Column("model_version", sa.String(64)),
        sa.Column("model_sha256", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("verification_status", sa.String(32), nullable=False),
        sa.Column("identified_by", sa.String(200)),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="SET NULL")),
    )
    op.create_index("ix_identifications_specimen_id", "identifications", ["specimen_id"])


def downgrade() -> None:
    for table in ("identifications", "run_items", "runs", "photos", "specimens"):
        op.drop_table(table)

"""Photo embeddings per model (float16), for similar specimens, few-shot candidates and review flags.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo_embeddings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("photo_id", "model_sha256", name="uq_photo_embeddings_photo_model"),
    )
    op.create_index("ix_photo_embeddings_model_sha256", "photo_embeddings", ["model_sha256"])


def downgrade() -> None:
    op.drop_index("ix_photo_embeddings_model_sha256", table_name="photo_embeddings")
    op.drop_table("photo_embeddings")

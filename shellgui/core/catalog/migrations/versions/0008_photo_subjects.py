"""Photos: several subjects of one photo file. A tray photo of three shells is three specimens, each with
its own crop of the same file, so a photo row is the file *and* which subject of it: the file's hashes are
unique per subject (0 for a photo of one subject, or the whole photo).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: Names the unnamed UNIQUE(sha256) of revision 0001 so that batch mode can drop it (SQLite).
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _sha256_unique() -> str:
    """The name of revision 0001's UNIQUE(sha256): PostgreSQL's default, or the batch naming's."""
    return "photos_sha256_key" if op.get_bind().dialect.name == "postgresql" else "uq_photos_sha256"


def upgrade() -> None:
    with op.batch_alter_table("photos", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("subject", sa.Integer, nullable=False, server_default="0"))
        batch.drop_constraint(_sha256_unique(), type_="unique")
        batch.drop_index("ix_photos_pixel_sha256")
        batch.create_unique_constraint("uq_photos_sha256_subject", ["sha256", "subject"])
        batch.create_index("ix_photos_pixel_sha256_subject", ["pixel_sha256", "subject"], unique=True)


def downgrade() -> None:
    op.execute("DELETE FROM photos WHERE subject <> 0")
    with op.batch_alter_table("photos", naming_convention=NAMING) as batch:
        batch.drop_index("ix_photos_pixel_sha256_subject")
        batch.drop_constraint("uq_photos_sha256_subject", type_="unique")
        batch.create_unique_constraint(_sha256_unique(), ["sha256"])
        batch.create_index("ix_photos_pixel_sha256", ["pixel_sha256"], unique=True)
        batch.drop_column("subject")

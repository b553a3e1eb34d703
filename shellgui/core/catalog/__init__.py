"""The specimen catalogue: SQLAlchemy models, Alembic migrations and repository functions."""

from shellgui.core.catalog.database import Catalog, catalog_url
from shellgui.core.catalog.schema import NOT_IDENTIFIABLE, PREDICTED, VALIDATED

__all__ = ["NOT_IDENTIFIABLE", "PREDICTED", "VALIDATED", "Catalog", "catalog_url"]

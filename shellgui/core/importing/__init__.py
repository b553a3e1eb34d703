"""Bringing existing records in: spreadsheets and Darwin Core archives, mapped, planned, then written."""

from shellgui.core.importing.records import ImportPlan, apply_import, plan_import
from shellgui.core.importing.tables import Table, read_records

__all__ = ["ImportPlan", "Table", "apply_import", "plan_import", "read_records"]

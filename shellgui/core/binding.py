"""Bind photos to catalogued specimens by file name (``shellgui catalog FOLDER --bind PATTERN``).

A museum's photo archive names its files after catalogue numbers: ``MZ-1187_a.jpg``, ``MZ-1187_b.jpg``...
A :class:`PhotoBinder` turns a file name into the catalogue number of an existing specimen, from one of:

- a template: ``MZ-{catalog}_{view}.jpg`` (``{catalog}`` the number, ``{view}`` any view suffix, ``*`` any
  text); the number is looked up as captured and with the text before it (``1187`` and ``MZ-1187``);
- a regular expression with a ``(?P<catalog>...)`` group (and optionally ``(?P<view>...)``), prefixed
  ``re:`` or recognised by its ``(?P<catalog>`` group;
- a mapping CSV with a ``file`` (or ``filename``) column and a ``catalogNumber`` column.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from shellgui.core.errors import UsageError

NO_MATCH = "its name does not match the binding pattern"


@dataclass(frozen=True)
class PhotoBinder:
    """Catalogue numbers from file names.

    Attributes:
        pattern: as the user gave it (for messages).
        regex: compiled from a template or given; ``None`` for a mapping file.
        prefix: literal text before ``{catalog}`` in a template (tried as part of the number too).
        table: file name -> catalogue number, from a mapping CSV.
    """

    pattern: str
    regex: re.Pattern[str] | None = None
    prefix: str = ""
    table: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, pattern: str) -> PhotoBinder:
        """Understand a ``--bind`` argument.

        Raises:
            UsageError: no ``{catalog}`` in a template, a bad regular expression, or an unreadable mapping.
        """
        if pattern.lower().endswith(".csv") and Path(pattern).is_file():
            return cls(pattern, table=_read_mapping(Path(pattern)))
        if pattern.startswith("re:") or "(?P<catalog>" in pattern:
            expression = pattern.removeprefix("re:")
            try:
                regex = re.compile(expression, re.IGNORECASE)
            except re.error as exc:
                raise UsageError(f"--bind: not a regular expression ({exc})") from exc
            if "catalog" not in regex.groupindex:
                raise UsageError("--bind: the regular expression needs a (?P<catalog>...) group")
            return cls(pattern, regex=regex)
        if "{catalog}" not in pattern:
            raise UsageError(
                "--bind: give a template with {catalog} (e.g. 'MZ-{catalog}_{view}.jpg'), "
                "a regular expression with (?P<catalog>...), or a mapping CSV"
            )
        parts = re.split(r"(\{catalog\}|\{view\}|\*)", pattern)
        pieces = {"{catalog}": r"(?P<catalog>.+?)", "{view}": r"(?P<view>[^/\\]*?)", "*": r".*?"}
        regex = re.compile("".join(pieces.get(p, re.escape(p)) for p in parts), re.IGNORECASE)
        prefix = re.split(r"\{view\}|\*", pattern.split("{catalog}")[0])[-1]
        return cls(pattern, regex=regex, prefix=prefix)

    def candidates(self, path: str) -> list[str]:
        """The catalogue numbers the file name may stand for, best first (empty: no match)."""
        name = Path(path).name
        if self.regex is None:
            number = self.table.get(name) or self.table.get(name.casefold())
            return [number] if number else []
        match = self.regex.fullmatch(name)
        if match is None:
            return []
        number = match["catalog"].strip()
        return [number] + ([self.prefix + number] if self.prefix else [])


def _read_mapping(path: Path) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        headers = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
        file_col = headers.get("file") or headers.get("filename")
        number_col = headers.get("catalognumber") or headers.get("catalog_number")
        if not file_col or not number_col:
            raise UsageError(f"{path}: a binding CSV needs 'file' and 'catalogNumber' columns")
        table = {}
        for row in reader:
            name, number = Path(row.get(file_col) or "").name, (row.get(number_col) or "").strip()
            if name and number:
                table[name] = number
                table[name.casefold()] = number
    if not table:
        raise UsageError(f"{path}: the binding CSV lists no files")
    return table

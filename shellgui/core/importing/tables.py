"""Reading records to import: CSV, TSV, XLSX and Darwin Core archives, and mapping their columns.

Every reader yields :class:`SourceRecord` objects keyed by the Darwin Core terms shellgui understands, so the
import itself never cares where a record came from. A spreadsheet's columns are mapped to those terms by a
saved mapping file (JSON: ``{"catalogNumber": "Cat. No.", ...}``) or guessed from Darwin Core and common
headers; a Darwin Core archive says what its columns mean in its ``meta.xml``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from shellgui.core.errors import UsageError

#: The terms an import understands, with the headers each is guessed from (compared without case,
#: spaces or punctuation). Our own CSV export's headers are among them, so an export imports back.
TERMS: dict[str, tuple[str, ...]] = {
    "catalogNumber": (
        "catalognumber",
        "catalogno",
        "catalognr",
        "catno",
        "cataloguenumber",
        "cataloguenr",
        "catalogueno",
        "specimennumber",
        "specimenno",
        "accessionnumber",
        "registrationnumber",
    ),
    "scientificName": ("scientificname", "taxon", "taxonname", "species", "determination", "name"),
    "taxonRank": ("taxonrank", "rank"),
    "identifiedBy": ("identifiedby", "determiner", "determinedby", "detby", "identifier"),
    "dateIdentified": (
        "dateidentified",
        "identifiedat",
        "determinationdate",
        "detdate",
        "dateofdetermination",
    ),
    "identificationVerificationStatus": ("identificationverificationstatus", "verificationstatus"),
    "identificationRemarks": ("identificationremarks", "determinationremarks"),
    "locality": ("locality", "location", "site", "verbatimlocality"),
    "recordedBy": ("recordedby", "collector", "collectors", "leg", "collectedby"),
    "eventDate": ("eventdate", "collectedon", "datecollected", "collectiondate", "collectingdate"),
    "occurrenceRemarks": ("occurrenceremarks", "notes", "remarks"),
    "associatedMedia": ("associatedmedia", "photos", "images", "media", "photo", "image"),
    "decimalLatitude": ("decimallatitude", "latitude", "lat"),
    "decimalLongitude": ("decimallongitude", "longitude", "lon", "long"),
}
#: Identification history rows: the Darwin Core class GBIF's extension uses (what shellgui writes now),
#: and the older GBIF term (archives written by earlier versions and other tools).
IDENTIFICATION_ROW_TYPES = frozenset(
    {"http://rs.tdwg.org/dwc/terms/Identification", "http://rs.gbif.org/terms/1.0/Identification"}
)
#: Measurement or Facts rows: the Darwin Core extension (what shellgui writes) and OBIS's extended one.
MEASUREMENT_ROW_TYPES = frozenset(
    {
        "http://rs.tdwg.org/dwc/terms/MeasurementOrFact",
        "http://rs.iobis.org/obis/terms/ExtendedMeasurementOrFact",
    }
)
SPREADSHEETS = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm")


def unguard(value: str) -> str:
    """Undo the spreadsheet formula guard of an export (``'=x`` -> ``=x``)."""
    return value[1:] if value.startswith("'") and value[1:2] in ("=", "+", "-", "@") else value


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.casefold())


@dataclass(frozen=True)
class SourceRecord:
    """One record to import: a specimen's terms, and its determinations (oldest first) when the source keeps
    a history (a Darwin Core archive's Identification extension), and its measurements (its Measurement or
    Facts extension).

    Attributes:
        where: where it came from, for messages (``"row 12"``).
        terms: Darwin Core term -> value (stripped, empty values left out).
        history: earlier and current determinations, each a term -> value mapping.
        measurements: measurements or facts, each a term -> value mapping.
    """

    where: str
    terms: dict[str, str]
    history: tuple[dict[str, str], ...] = ()
    measurements: tuple[dict[str, str], ...] = ()


@dataclass
class Table:
    """What a source file holds: its headers (for the mapping), records and how its columns were mapped."""

    source: str
    headers: list[str]
    records: list[SourceRecord] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def unmapped(self) -> list[str]:
        """Headers no term is read from."""
        used = set(self.mapping.values())
        return [h for h in self.headers if h not in used]


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Term -> header for every header that names a known term (the first alias that matches wins)."""
    by_norm: dict[str, str] = {}
    for header in headers:
        by_norm.setdefault(_norm(header), header)
    mapping: dict[str, str] = {}
    for term, aliases in TERMS.items():
        for alias in aliases:
            if alias in by_norm and by_norm[alias] not in mapping.values():
                mapping[term] = by_norm[alias]
                break
    return mapping


def load_mapping(path: str | Path, headers: list[str]) -> dict[str, str]:
    """A saved mapping (JSON object: term -> column header), checked against the file's headers.

    Raises:
        UsageError: unreadable, not term -> header, an unknown term, or a header the file lacks.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the column mapping ({exc})") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise UsageError(f'{path}: a mapping is a JSON object like {{"catalogNumber": "Cat. No."}}')
    unknown = sorted(set(raw) - set(TERMS))
    if unknown:
        raise UsageError(f"{path}: unknown term {unknown[0]!r}; terms are {', '.join(TERMS)}")
    missing = sorted(v for v in raw.values() if v not in headers)
    if missing:
        raise UsageError(f"{path}: the file has no column {missing[0]!r} (its columns: {', '.join(headers)})")
    return dict(raw)


def save_mapping(mapping: Mapping[str, str], path: str | Path) -> None:
    """Write a mapping for reuse (``--mapping``); edit it by hand to fix a guess."""
    Path(path).write_text(json.dumps(dict(mapping), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split()) if not isinstance(value, str) else value.strip()


def _spreadsheet_rows(path: Path, sheet: str | None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Headers and (line number, cells) of a CSV/TSV/XLSX file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
            raise UsageError(f"{path}: not a readable XLSX workbook ({exc})") from exc
        if sheet is not None and sheet not in book.sheetnames:
            raise UsageError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        rows = (
            [_cell(c) for c in row] for row in book[sheet or book.sheetnames[0]].iter_rows(values_only=True)
        )
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")  # spreadsheets saved by Excel on Windows
            except UnicodeDecodeError:
                text = "\0"
        if "\0" in text:
            raise UsageError(f"{path}: not a text table (CSV/TSV in UTF-8 or Windows-1252)")
        if path.suffix.lower() in (".tsv", ".tab"):
            delimiter = "\t"
        else:
            try:
                delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t").delimiter
            except csv.Error:
                delimiter = ","
        rows = ([c.strip() for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter))
    numbered = enumerate(rows, start=1)
    for _, header in numbered:
        if any(header):
            headers = [h or f"column {i + 1}" for i, h in enumerate(header)]
            return headers, ((n, cells) for n, cells in numbered if any(cells))
    raise UsageError(f"{path}: the file is empty")


def read_spreadsheet(
    path: str | Path, mapping: Mapping[str, str] | None = None, sheet: str | None = None
) -> Table:
    """Records from a CSV, TSV or XLSX file, one per row.

    Args:
        path: the file.
        mapping: term -> column header; default: guessed from the headers.
        sheet: the XLSX sheet (default: the first).

    Raises:
        UsageError: unreadable file, no header row, or no column for ``scientificName`` nor
            ``catalogNumber`` nor ``associatedMedia``.
    """
    source = Path(path)
    headers, rows = _spreadsheet_rows(source, sheet)
    table = Table(str(source), headers, mapping=dict(mapping) if mapping else guess_mapping(headers))
    if not {"catalogNumber", "scientificName", "associatedMedia"} & set(table.mapping):
        raise UsageError(
            f"{source}: no column recognised as catalogNumber, scientificName or associatedMedia "
            f"(columns: {', '.join(headers)}); give a --mapping file"
        )
    index = {term: headers.index(header) for term, header in table.mapping.items()}
    for line, cells in rows:
        terms = {
            t: unguard(cells[i].strip()) for t, i in index.items() if i < len(cells) and cells[i].strip()
        }
        table.records.append(SourceRecord(f"{source.name} row {line}", terms))
    return table


def _short(term: str) -> str:
    return term.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def read_dwca(path: str | Path) -> Table:
    """Records from a Darwin Core archive (zip): the core occurrences with, when the archive has an
    Identification extension (as shellgui, Specify and Symbiota write), each occurrence's history.

    Raises:
        UsageError: not a Darwin Core archive, or its core is not occurrences.
    """
    from dwca.exceptions import InvalidArchive
    from dwca.read import DwCAReader

    source = Path(path)
    try:
        reader = DwCAReader(str(source))
    except (InvalidArchive, OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{source}: not a readable Darwin Core archive ({exc})") from exc
    except Exception as exc:  # zipfile.BadZipFile and XML errors from a damaged archive
        raise UsageError(f"{source}: not a readable Darwin Core archive ({exc})") from exc
    try:
        core_type = _short(reader.descriptor.core.type)
        if core_type != "Occurrence":
            raise UsageError(f"{source}: the archive's core is {core_type}, not Occurrence")
        headers = sorted({_short(t) for t in reader.descriptor.core.terms})
        table = Table(str(source), headers, mapping={t: t for t in headers if t in TERMS})
        for row in reader:
            terms = {_short(k): unguard((v or "").strip()) for k, v in row.data.items() if (v or "").strip()}
            extensions = [
                (
                    ext.rowtype,
                    {_short(k): unguard((v or "").strip()) for k, v in ext.data.items() if (v or "").strip()},
                )
                for ext in row.extensions
            ]
            history = tuple(data for kind, data in extensions if kind in IDENTIFICATION_ROW_TYPES)
            facts = tuple(data for kind, data in extensions if kind in MEASUREMENT_ROW_TYPES)
            where = f"{source.name} occurrence {row.id or row.position + 1}"
            table.records.append(SourceRecord(where, terms, history, facts))
    finally:
        reader.close()
    return table


_SIDECAR_TERMS = (
    "catalogNumber",
    "scientificName",
    "identifiedBy",
    "dateIdentified",
    "identificationVerificationStatus",
)


def read_sidecar_folder(folder: str | Path) -> Table:
    """Records from the XMP sidecars of the photos under ``folder`` (written by shellgui, or keywords
    ``Taxon|...`` given in digiKam or Lightroom): one record per photo, matched by catalogue number or by
    the photo itself."""
    from shellgui.core.sidecars import photos_with_sidecars

    table = Table(str(Path(folder) / "."), [*_SIDECAR_TERMS, "associatedMedia"])
    table.mapping = {t: t for t in table.headers}
    views: dict[tuple[str, ...], SourceRecord] = {}  # the views of one specimen make one record
    for photo, data in photos_with_sidecars(folder):
        status = "ValidatedByHuman" if data.checked else "PredictedByMachine"
        values = (data.catalog_number, data.taxon or "", data.identified_by, data.identified_at, status)
        terms = {term: value for term, value in zip(_SIDECAR_TERMS, values) if value}
        key = values if data.catalog_number else (str(photo),)
        if key in views:
            views[key].terms["associatedMedia"] += " | " + str(photo.absolute())
            continue
        terms["associatedMedia"] = str(photo.absolute())
        views[key] = SourceRecord(f"{photo.name}.xmp", terms)
        table.records.append(views[key])
    return table


def read_records(
    path: str | Path,
    mapping_file: str | Path | None = None,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Table:
    """Read any supported file: a ``.zip`` is a Darwin Core archive, the rest spreadsheets; a folder is
    read for the XMP sidecars of its photos.

    Args:
        path: the file.
        mapping_file: a saved mapping (JSON) for a spreadsheet.
        sheet: the XLSX sheet (default: the first).
        mapping: or the mapping itself (term -> column header), as edited in the import dialog.

    Raises:
        UsageError: an unsupported or unreadable file, or a mapping that does not fit it.
    """
    source = Path(path)
    if source.is_dir():
        return read_sidecar_folder(source)
    if not source.is_file():
        raise UsageError(f"{source}: no such file or folder")
    suffix = source.suffix.lower()
    if suffix == ".zip":
        if mapping_file or mapping:
            raise UsageError("a Darwin Core archive maps its own columns (meta.xml): drop --mapping")
        return read_dwca(source)
    if suffix not in SPREADSHEETS:
        raise UsageError(f"{source}: import reads .csv, .tsv, .xlsx or a Darwin Core archive (.zip)")
    if mapping_file:
        headers, _ = _spreadsheet_rows(source, sheet)
        return read_spreadsheet(source, load_mapping(mapping_file, headers), sheet)
    return read_spreadsheet(source, mapping, sheet)

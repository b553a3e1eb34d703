"""Darwin Core Archive export that GBIF accepts: occurrences, the Identification History extension, the
Measurement or Facts extension (every measurement, e.g. shell lengths taken on a photo), ``meta.xml`` and
``eml.xml``.

Values are written as they are (no spreadsheet apostrophes: the archive is read by machines), every field
is quoted so a line break or a lone carriage return inside a value never splits a record, ``taxonRank``
comes only from the Darwin Core rank vocabulary, and ``identifiedBy`` names the person who decided (the
model's answers carry no person; the model is named in ``identificationRemarks``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from shellgui.core.atomic import atomic_path
from shellgui.core.catalog.schema import (
    NOT_IDENTIFIABLE,
    PREDICTED,
    Identification,
    Measurement,
    Photo,
    Specimen,
)
from shellgui.core.measuring import describe_method
from shellgui.core.settings import Settings
from shellgui.core.taxonomy import NameBackbone, NameCheck, load_backbone

DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"
#: GBIF's Identification History extension uses the Darwin Core Identification class as its row type.
IDENTIFICATION_ROW_TYPE = f"{DWC}Identification"
#: GBIF's Measurement or Facts extension.
MEASUREMENT_ROW_TYPE = f"{DWC}MeasurementOrFact"
#: The ranks of the Darwin Core / GBIF taxon rank vocabulary that shellgui can produce.
DWC_RANKS = frozenset(
    {
        "kingdom",
        "phylum",
        "class",
        "order",
        "family",
        "subfamily",
        "tribe",
        "genus",
        "subgenus",
        "species",
        "subspecies",
        "variety",
        "form",
    }
)
#: Higher ranks filled in each occurrence, where the model card's taxonomy knows them.
HIGHER_RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")


@dataclass(frozen=True)
class DwcOptions:
    """What an archive needs beyond the catalogue (from Preferences).

    Attributes:
        creator: the person publishing the data set (``eml.xml``).
        title: the data set's title.
        license: the licence URL (GBIF accepts CC0, CC BY 4.0 and CC BY-NC 4.0).
        media_base_url: where the photos are published; ``associatedMedia`` stays empty without it.
        taxonomy: display name -> {rank: name} for the higher ranks (from the model cards).
    """

    creator: str = ""
    title: str = "Shell specimens catalogued with shellgui"
    license: str = "http://creativecommons.org/licenses/by/4.0/legalcode"
    media_base_url: str = ""
    taxonomy: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


OCCURRENCE_TERMS = [
    ("occurrenceID", DWC),
    ("basisOfRecord", DWC),
    ("catalogNumber", DWC),
    ("recordedBy", DWC),
    ("eventDate", DWC),
    ("locality", DWC),
    ("decimalLatitude", DWC),
    ("decimalLongitude", DWC),
    ("scientificName", DWC),
    ("taxonRank", DWC),
    ("scientificNameID", DWC),
    *[(rank, DWC) for rank in HIGHER_RANKS],
    ("identifiedBy", DWC),
    ("dateIdentified", DWC),
    ("identificationVerificationStatus", DWC),
    ("identificationRemarks", DWC),
    ("associatedMedia", DWC),
    ("occurrenceRemarks", DWC),
    ("dynamicProperties", DWC),
    ("modified", DC),
]
IDENTIFICATION_TERMS = [
    ("identificationID", DWC),
    ("scientificName", DWC),
    ("scientificNameID", DWC),
    ("taxonRank", DWC),
    ("identifiedBy", DWC),
    ("dateIdentified", DWC),
    ("identificationVerificationStatus", DWC),
    ("identificationRemarks", DWC),
]
MEASUREMENT_TERMS = [
    ("measurementID", DWC),
    ("measurementType", DWC),
    ("measurementValue", DWC),
    ("measurementUnit", DWC),
    ("measurementDeterminedBy", DWC),
    ("measurementDeterminedDate", DWC),
    ("measurementMethod", DWC),
    ("measurementRemarks", DWC),
]


def dwc_name_and_rank(taxon: str | None, rank: str | None) -> tuple[str, str, str]:
    """``(scientificName, taxonRank, why empty)`` for a stored identification.

    ``"Genus sp."`` becomes the bare genus with rank ``genus``; an undecided answer ("uncertain", "not
    identifiable") has no name and no rank, and the reason goes to ``identificationRemarks``.
    """
    if not taxon or (rank or "").lower() not in DWC_RANKS:
        reason = "not identifiable" if rank == NOT_IDENTIFIABLE or taxon == NOT_IDENTIFIABLE else rank
        return "", "", f"undecided: {reason or 'no answer'}"
    words = taxon.split()
    if len(words) == 2 and words[1] in ("sp.", "sp", "spp.", "spp"):
        return words[0], "genus", ""
    return taxon, rank.lower() if rank else "", ""


def _identified_by(ident: Identification) -> str:
    if ident.verification_status == PREDICTED:
        return ""  # a model is not a person: it is named in identificationRemarks
    return ident.decided_by or ident.identified_by or ""


def _remarks(ident: Identification, undecided: str) -> str:
    parts = [undecided] if undecided else []
    if ident.model_name:  # "model=NAME VERSION": what shellgui's importer reads back
        parts.append(f"model={ident.model_name} {ident.model_version or ''}".strip())
    if ident.score is not None:
        parts.append(f"score={ident.score:.4f}")
    if ident.remarks:
        parts.append(ident.remarks)
    return "; ".join(parts)


def _media(photos: Iterable[Photo], base_url: str) -> str:
    if not base_url:
        return ""
    base = base_url.rstrip("/") + "/"
    return " | ".join(base + quote(os.fsencode(os.path.basename(p.path))) for p in photos)


def backbone_record(backbone: NameBackbone | None, scientific: str) -> NameCheck | None:
    """The name backbone's record of an exported name (for ``scientificNameID`` and higher ranks)."""
    if backbone is None or not scientific:
        return None
    check = backbone.check(scientific)
    return check if check.known and check.name == scientific else None


def _higher(
    name: str,
    scientific: str,
    rank: str,
    taxonomy: Mapping[str, Mapping[str, str]],
    record: NameCheck | None = None,
) -> list[str]:
    known = {k: v for k, v in (record.ranks if record else {}).items() if v}
    known.update({k: v for k, v in taxonomy.get(name, {}).items() if v and k not in known})
    if rank == "genus":
        known.setdefault("genus", scientific)
    elif rank in ("species", "subspecies", "variety", "form") and scientific:
        known.setdefault("genus", scientific.split()[0])
    elif rank in HIGHER_RANKS:
        known.setdefault(rank, scientific)
    return [known.get(r, "") for r in HIGHER_RANKS]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def latest_measurements(specimen: Specimen) -> dict[tuple[str, str], float]:
    """The latest value of each measurement type (and unit) of a specimen."""
    latest: dict[tuple[str, str], float] = {}
    for m in sorted(specimen.measurements, key=lambda m: m.id):
        latest[(m.measurement_type, m.unit)] = m.value
    return latest


def dynamic_properties(specimen: Specimen) -> str:
    """DwC ``dynamicProperties``: the latest measurements as JSON, e.g. ``{"shellLengthMm": 23.4}``."""
    values = {}
    for (kind, unit), value in latest_measurements(specimen).items():
        words = f"{kind} {unit}".split()
        values[words[0].lower() + "".join(w.capitalize() for w in words[1:])] = round(value, 2)
    return json.dumps(values, sort_keys=True) if values else ""


def coordinates(specimen: Specimen, photos: list[Photo]) -> tuple[float | None, float | None]:
    """The specimen's own coordinates (typed or imported), else the first photo's GPS position."""
    if specimen.decimal_latitude is not None and specimen.decimal_longitude is not None:
        return specimen.decimal_latitude, specimen.decimal_longitude
    gps = next((p for p in photos if p.gps_lat is not None and p.gps_lon is not None), None)
    return (gps.gps_lat, gps.gps_lon) if gps else (None, None)


def occurrence_row(
    specimen: Specimen,
    photos: list[Photo],
    idents: list[Identification],
    options: DwcOptions,
    backbone: NameBackbone | None = None,
) -> list[str]:
    """One ``occurrence.csv`` row (the specimen with its current identification)."""
    cur = idents[-1] if idents else None
    latitude, longitude = coordinates(specimen, photos)
    name, rank, undecided = dwc_name_and_rank(cur.taxon, cur.rank) if cur else ("", "", "")
    record = backbone_record(backbone, name)
    higher = (
        _higher(cur.taxon or "", name, rank, options.taxonomy, record) if cur else [""] * len(HIGHER_RANKS)
    )
    values: list[object] = [
        occurrence_id(specimen),
        "PreservedSpecimen",
        specimen.catalog_number,
        specimen.collector,
        specimen.collected_on,
        specimen.locality,
        latitude,
        longitude,
        name,
        rank,
        record.name_id if record else "",
        *higher,
        _identified_by(cur) if cur else None,
        cur.created_at.date().isoformat() if cur else None,
        cur.verification_status if cur else None,
        _remarks(cur, undecided) if cur else None,
        _media(photos, options.media_base_url),
        specimen.notes,
        dynamic_properties(specimen),
        specimen.created_at.isoformat(timespec="seconds"),
    ]
    return [_text(v) for v in values]


def identification_row(
    specimen: Specimen, ident: Identification, backbone: NameBackbone | None = None
) -> list[str]:
    """One row of the Identification History extension."""
    name, rank, undecided = dwc_name_and_rank(ident.taxon, ident.rank)
    record = backbone_record(backbone, name)
    values: list[object] = [
        occurrence_id(specimen),
        f"urn:shellgui:identification:{ident.id}",
        name,
        record.name_id if record else "",
        rank,
        _identified_by(ident),
        ident.created_at.isoformat(timespec="seconds"),
        ident.verification_status,
        _remarks(ident, undecided),
    ]
    return [_text(v) for v in values]


def measurement_row(specimen: Specimen, measurement: Measurement) -> list[str]:
    """One row of the Measurement or Facts extension (every stored measurement, oldest first)."""
    values: list[object] = [
        occurrence_id(specimen),
        f"urn:shellgui:measurement:{measurement.id}",
        measurement.measurement_type,
        round(measurement.value, 2),
        measurement.unit,
        measurement.measured_by,
        measurement.measured_at.isoformat(timespec="seconds"),
        describe_method(measurement.method),
        measurement.remarks,
    ]
    return [_text(v) for v in values]


def occurrence_id(specimen: Specimen) -> str:
    return f"urn:shellgui:specimen:{specimen.id}"


def meta_xml() -> str:
    """The archive descriptor: the core, the Identification History and Measurement or Facts extensions,
    and ``eml.xml``."""

    def fields(terms: list[tuple[str, str]], start: int) -> str:
        return "\n".join(
            f'    <field index="{i + start}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(terms)
        )

    attrs = (
        'encoding="UTF-8" fieldsTerminatedBy="," linesTerminatedBy="\\n" '
        'fieldsEnclosedBy="&quot;" ignoreHeaderLines="1"'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">
  <core {attrs} rowType="{DWC}Occurrence">
    <files><location>occurrence.csv</location></files>
    <id index="0"/>
{fields(OCCURRENCE_TERMS, 0)}
  </core>
  <extension {attrs} rowType="{IDENTIFICATION_ROW_TYPE}">
    <files><location>identification.csv</location></files>
    <coreid index="0"/>
{fields(IDENTIFICATION_TERMS, 1)}
  </extension>
  <extension {attrs} rowType="{MEASUREMENT_ROW_TYPE}">
    <files><location>measurementorfact.csv</location></files>
    <coreid index="0"/>
{fields(MEASUREMENT_TERMS, 1)}
  </extension>
</archive>
"""


def eml_xml(options: DwcOptions, today: date | None = None) -> str:
    """Minimal GBIF EML metadata: title, creator, licence and publication date."""
    creator = options.creator.strip() or "Unknown"
    given, _, surname = creator.rpartition(" ")
    given_xml = f"<givenName>{escape(given)}</givenName>" if given else ""
    day = (today or date.today()).isoformat()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" xmlns:dc="http://purl.org/dc/terms/"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="eml://ecoinformatics.org/eml-2.1.1 http://rs.gbif.org/schema/eml-gbif-profile/1.2/eml.xsd"
    packageId="shellgui-export" system="http://gbif.org" scope="system" xml:lang="en">
  <dataset>
    <title>{escape(options.title)}</title>
    <creator><individualName>{given_xml}<surName>{escape(surname)}</surName></individualName></creator>
    <metadataProvider><individualName>{given_xml}<surName>{escape(surname)}</surName></individualName></metadataProvider>
    <pubDate>{day}</pubDate>
    <language>en</language>
    <abstract><para>{escape(options.title)}: specimens identified from photos with shellgui.</para></abstract>
    <intellectualRights><para><ulink url={quoteattr(options.license)}><citetitle>{escape(options.license)}</citetitle></ulink></para></intellectualRights>
    <contact><individualName>{given_xml}<surName>{escape(surname)}</surName></individualName></contact>
  </dataset>
</eml:eml>
"""


def write_archive(
    rows: list[tuple[Specimen, list[Photo], list[Identification]]],
    out: str | os.PathLike[str],
    options: DwcOptions,
) -> int:
    """Write the archive atomically; returns the number of occurrences."""
    occ, hist, facts = io.StringIO(), io.StringIO(), io.StringIO()
    # Every field quoted: a value with a line break or a lone CR stays inside its record.
    occ_writer, hist_writer, facts_writer = (
        csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL) for f in (occ, hist, facts)
    )
    occ_writer.writerow([name for name, _ in OCCURRENCE_TERMS])
    hist_writer.writerow(["occurrenceID"] + [name for name, _ in IDENTIFICATION_TERMS])
    facts_writer.writerow(["occurrenceID"] + [name for name, _ in MEASUREMENT_TERMS])
    backbone = load_backbone()
    for specimen, photos, idents in rows:
        occ_writer.writerow(occurrence_row(specimen, photos, idents, options, backbone))
        for ident in idents:
            hist_writer.writerow(identification_row(specimen, ident, backbone))
        for measurement in sorted(specimen.measurements, key=lambda m: m.id):
            facts_writer.writerow(measurement_row(specimen, measurement))
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.xml", meta_xml())
        archive.writestr("eml.xml", eml_xml(options))
        archive.writestr("occurrence.csv", occ.getvalue())
        archive.writestr("identification.csv", hist.getvalue())
        archive.writestr("measurementorfact.csv", facts.getvalue())
    return len(rows)


def options_from_settings(settings: Settings, media_base_url: str | None = None) -> DwcOptions:
    """The archive options from Preferences, with the higher ranks the installed model cards know."""
    from shellgui.core.models import installed_models

    taxonomy: dict[str, dict[str, str]] = {}
    for model in installed_models():
        for taxon in model.card.taxa if model.card else ():
            ranks = {k.lower(): v for k, v in taxon.higher.items() if isinstance(v, str) and v}
            ranks.update({k: v for k, v in (("genus", taxon.genus), ("family", taxon.family)) if v})
            taxonomy.setdefault(taxon.name, {k: v for k, v in ranks.items() if k in HIGHER_RANKS})
    return DwcOptions(
        creator=settings.user_name,
        title=settings.dataset_title,
        license=settings.dataset_license,
        media_base_url=settings.media_base_url if media_base_url is None else media_base_url,
        taxonomy=taxonomy,
    )

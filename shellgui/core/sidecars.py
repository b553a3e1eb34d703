"""XMP sidecars for digiKam, Lightroom and darktable: the current identification next to each photo.

A sidecar ``IMG_0042.jpg.xmp`` (digiKam's and darktable's naming; ``IMG_0042.xmp`` is read too) gets
hierarchical keywords ``Taxon|Family|Genus|species`` (``lr:hierarchicalSubject``, and ``digiKam:TagsList``
with ``/``), ``Identification|checked`` or ``Identification|unchecked``, the taxon names as flat keywords
(``dc:subject``) and Darwin Core terms (``dwc:catalogNumber``, ``dwc:scientificName``, ``dwc:family``,
``dwc:identifiedBy``, ``dwc:dateIdentified``, ``dwc:identificationVerificationStatus``). Whatever else a
sidecar holds (ratings, other keywords) is kept; the photo files themselves are never touched. Reading and
writing go through exiv2 (``pyexiv2``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shellgui.core.catalog.database import Catalog
from shellgui.core.errors import ShellguiError
from shellgui.core.taxonomy import NameBackbone

DWC_NS = "http://rs.tdwg.org/dwc/terms/"
TAXON_ROOT, STATUS_ROOT = "Taxon", "Identification"
CHECKED, UNCHECKED = "checked", "unchecked"
_EMPTY = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""
_HIERARCHY, _DIGIKAM, _SUBJECT = "Xmp.lr.hierarchicalSubject", "Xmp.digiKam.TagsList", "Xmp.dc.subject"


class SidecarError(ShellguiError):
    """A sidecar could not be read or written (the message names the file)."""


@dataclass(frozen=True)
class SidecarIdentification:
    """What a sidecar says about its photo."""

    taxon: str | None
    family: str = ""
    genus: str = ""
    catalog_number: str = ""
    checked: bool = False
    identified_by: str = ""
    identified_at: str = ""


def sidecar_path(photo: str | Path) -> Path:
    """Where the sidecar of ``photo`` is: an existing ``photo.jpg.xmp`` or ``photo.xmp``, else the former."""
    photo = Path(photo)
    for candidate in (photo.with_name(photo.name + ".xmp"), photo.with_suffix(".xmp")):
        if candidate.is_file():
            return candidate
    return photo.with_name(photo.name + ".xmp")


def _exiv2() -> Any:
    try:
        import pyexiv2
    except ImportError as exc:  # pragma: no cover - a dependency; only a broken install lacks it
        raise SidecarError("XMP sidecars need pyexiv2 (pip install pyexiv2)") from exc
    pyexiv2.registerNs(DWC_NS, "dwc")
    return pyexiv2


def taxon_keyword(data: SidecarIdentification) -> str:
    """``Taxon|Muricidae|Bolinus|Bolinus brandaris`` (missing ranks left out; '' without a taxon)."""
    if not data.taxon:
        return ""
    parts = [TAXON_ROOT, data.family, data.genus if data.genus != data.taxon else "", data.taxon]
    return "|".join(p for p in parts if p)


def _ours(keyword: str, separator: str) -> bool:
    return keyword.split(separator, 1)[0] in (TAXON_ROOT, STATUS_ROOT)


def write_sidecar(photo: str | Path, data: SidecarIdentification) -> Path:
    """Write (or update) the sidecar of ``photo``; returns its path. Other metadata in it is kept.

    Raises:
        SidecarError: the sidecar cannot be read or written.
    """
    pyexiv2 = _exiv2()
    path = sidecar_path(photo)
    try:
        if not path.exists():
            path.write_text(_EMPTY, encoding="utf-8")
        with pyexiv2.Image(str(path)) as image:
            old = image.read_xmp()
            old_taxon = [k for k in _as_list(old.get(_HIERARCHY)) if k.startswith(TAXON_ROOT + "|")]
            derived = {part for k in old_taxon for part in k.split("|")[1:]}
            keyword = taxon_keyword(data)
            status = f"{STATUS_ROOT}|{CHECKED if data.checked else UNCHECKED}"
            ours = [k for k in (keyword, status) if k]
            hierarchy = [k for k in _as_list(old.get(_HIERARCHY)) if not _ours(k, "|")] + ours
            digikam = [k for k in _as_list(old.get(_DIGIKAM)) if not _ours(k, "/")]
            digikam += [k.replace("|", "/") for k in ours]
            subject = [k for k in _as_list(old.get(_SUBJECT)) if k not in derived]
            subject += [p for p in keyword.split("|")[1:] if p not in subject]
            image.modify_xmp(
                {
                    _HIERARCHY: hierarchy,
                    _DIGIKAM: digikam,
                    _SUBJECT: subject or None,
                    "Xmp.dwc.catalogNumber": data.catalog_number or None,
                    "Xmp.dwc.scientificName": data.taxon or None,
                    "Xmp.dwc.family": data.family or None,
                    "Xmp.dwc.identifiedBy": data.identified_by or None,
                    "Xmp.dwc.dateIdentified": data.identified_at or None,
                    "Xmp.dwc.identificationVerificationStatus": (
                        "ValidatedByHuman" if data.checked else "PredictedByMachine"
                    ),
                }
            )
    except (OSError, RuntimeError, UnicodeError) as exc:
        raise SidecarError(f"{path}: cannot write the XMP sidecar ({exc})") from exc
    return path


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def read_sidecar(photo: str | Path) -> SidecarIdentification | None:
    """The identification a photo's sidecar holds (written by shellgui or tagged in a DAM tool with a
    ``Taxon|...`` keyword), or ``None`` when there is no sidecar or it names no taxon and no catalogue number.

    Raises:
        SidecarError: the sidecar exists but cannot be read.
    """
    path = sidecar_path(photo)
    if not path.is_file():
        return None
    pyexiv2 = _exiv2()
    try:
        with pyexiv2.Image(str(path)) as image:
            xmp = image.read_xmp()
    except (OSError, RuntimeError, UnicodeError) as exc:
        raise SidecarError(f"{path}: cannot read the XMP sidecar ({exc})") from exc
    hierarchy = _as_list(xmp.get(_HIERARCHY)) or [k.replace("/", "|") for k in _as_list(xmp.get(_DIGIKAM))]
    taxon_parts = next((k.split("|")[1:] for k in hierarchy if k.startswith(TAXON_ROOT + "|")), [])
    taxon = str(xmp.get("Xmp.dwc.scientificName") or (taxon_parts[-1] if taxon_parts else "")) or None
    number = str(xmp.get("Xmp.dwc.catalogNumber") or "")
    if taxon is None and not number:
        return None
    status = str(xmp.get("Xmp.dwc.identificationVerificationStatus") or "")
    checked = status == "ValidatedByHuman" or f"{STATUS_ROOT}|{CHECKED}" in hierarchy
    return SidecarIdentification(
        taxon=taxon,
        family=str(xmp.get("Xmp.dwc.family") or (taxon_parts[0] if len(taxon_parts) > 2 else "")),
        genus=taxon_parts[-2] if len(taxon_parts) > 1 else "",
        catalog_number=number,
        checked=checked or not status,  # a keyword a person gave in a DAM tool is their determination
        identified_by=str(xmp.get("Xmp.dwc.identifiedBy") or ""),
        identified_at=str(xmp.get("Xmp.dwc.dateIdentified") or ""),
    )


def photos_with_sidecars(folder: str | Path) -> Iterator[tuple[Path, SidecarIdentification]]:
    """Photos under ``folder`` (recursively) whose sidecars name a taxon or a catalogue number."""
    from shellgui.core.imaging import is_photo_name

    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and is_photo_name(path) and not path.name.startswith("."):
            data = read_sidecar(path)
            if data is not None:
                yield path, data


def write_catalogue_sidecars(
    catalog: Catalog, checked_only: bool = False, backbone: NameBackbone | None = None
) -> tuple[int, list[str]]:
    """Write the sidecar of every catalogued photo that is still where it was catalogued.

    Args:
        catalog: the catalogue.
        checked_only: only specimens whose current identification a person checked.
        backbone: gives the family of each taxon (default: the offline name backbone).

    Returns:
        How many sidecars were written, and the photo paths that no longer exist.
    """
    from shellgui.core.catalog import VALIDATED
    from shellgui.core.catalog import repository as repo
    from shellgui.core.taxonomy import load_backbone

    names = backbone or load_backbone()
    jobs: list[tuple[str, SidecarIdentification]] = []
    with catalog.session() as session:
        for row in repo.list_specimens(session, status=VALIDATED if checked_only else None):
            current = repo.current_identification(session, row.specimen_id)
            if current is None:
                continue
            check = names.check(current.taxon) if current.taxon else None
            data = SidecarIdentification(
                taxon=current.taxon,
                family=check.family if check and check.known else "",
                genus=check.ranks.get("genus", "") if check else "",
                catalog_number=row.catalog_number or "",
                checked=current.verification_status == VALIDATED,
                identified_by=current.identified_by or "",
                identified_at=current.created_at.isoformat(timespec="seconds"),
            )
            jobs += [(path, data) for path in repo.specimen_photos(session, row.specimen_id)]
    missing = [path for path, _ in jobs if not Path(path).is_file()]
    for path, data in jobs:
        if path not in missing:
            write_sidecar(path, data)
    return len(jobs) - len(missing), missing

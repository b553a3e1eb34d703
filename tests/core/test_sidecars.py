"""XMP sidecars: written next to the photos (never into them), other metadata kept, read back by exiv2 and
by the import of a folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyexiv2
from PIL import Image

from shellgui.core.catalog import PREDICTED, VALIDATED, Catalog, curation
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.decisions import Decision
from shellgui.core.identify import identify_paths, record
from shellgui.core.importing import apply_import, plan_import, read_records
from shellgui.core.inference import Classifier
from shellgui.core.sidecars import (
    SidecarIdentification,
    read_sidecar,
    sidecar_path,
    write_catalogue_sidecars,
    write_sidecar,
)

DAM_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="4">
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Trip|Crete 2024</rdf:li>
    <rdf:li>Taxon|Conidae|Conus|Conus textile</rdf:li></rdf:Bag></lr:hierarchicalSubject>
   <dc:subject><rdf:Bag><rdf:li>Crete 2024</rdf:li><rdf:li>Conidae</rdf:li><rdf:li>Conus</rdf:li>
    <rdf:li>Conus textile</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_write_keeps_other_metadata_and_reads_back(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_1.jpg"
    Image.new("RGB", (32, 32), (9, 90, 200)).save(photo)
    before = digest(photo)
    (tmp_path / "IMG_1.xmp").write_text(DAM_SIDECAR, encoding="utf-8")  # Lightroom-style name
    tagged = read_sidecar(photo)  # a keyword given in a DAM tool is a person's determination
    assert tagged == SidecarIdentification("Conus textile", "Conidae", "Conus", checked=True)
    data = SidecarIdentification(
        "Bolinus brandaris", "Muricidae", "Bolinus", "MZ-7", False, "", "2024-02-03T04:05:06"
    )
    path = write_sidecar(photo, data)
    assert path == tmp_path / "IMG_1.xmp" == sidecar_path(photo)
    with pyexiv2.Image(str(path)) as image:  # exiv2 itself reads what we wrote
        xmp = image.read_xmp()
    assert xmp["Xmp.xmp.Rating"] == "4"
    assert xmp["Xmp.lr.hierarchicalSubject"] == [
        "Trip|Crete 2024",
        "Taxon|Muricidae|Bolinus|Bolinus brandaris",
        "Identification|unchecked",
    ]
    assert xmp["Xmp.dc.subject"] == ["Crete 2024", "Muricidae", "Bolinus", "Bolinus brandaris"]
    assert xmp["Xmp.digiKam.TagsList"][0] == "Taxon/Muricidae/Bolinus/Bolinus brandaris"
    assert xmp["Xmp.dwc.catalogNumber"] == "MZ-7"
    assert read_sidecar(photo) == data
    assert digest(photo) == before  # the photo itself is never written
    assert read_sidecar(tmp_path / "no-sidecar.jpg") is None


def test_catalogue_sidecars_round_trip(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)
    names = ("red", "green", "blue")
    photos, outcome = identify_paths(classifier, [colour_photos[n] for n in names])
    first = record(catalog, classifier, [photos[0]], outcome.results[0].prediction, catalog_number="MZ-1")
    curation.decide(catalog, first.specimen_id, Decision("Abra alba", "species"), by="Curator")
    record(catalog, classifier, [photos[1]], outcome.results[1].prediction)
    record(catalog, classifier, [photos[2]], outcome.results[2].prediction)
    colour_photos["blue"].unlink()  # a catalogued photo moved away since
    assert write_catalogue_sidecars(catalog, checked_only=True) == (1, [])
    assert write_catalogue_sidecars(catalog) == (2, [str(colour_photos["blue"].absolute())])
    target = Catalog(tmp_path / "new.sqlite")
    table = read_records(colour_photos["red"].parent)
    apply_import(target, plan_import(target, table), by="importer")
    with target.session() as s:
        rows = {r.photo_path and Path(r.photo_path).name: r for r in repo.list_specimens(s)}
    assert rows["red.jpg"].catalog_number == "MZ-1" and rows["red.jpg"].taxon == "Abra alba"
    assert rows["red.jpg"].verification_status == VALIDATED
    assert rows["green.jpg"].verification_status == PREDICTED
    again = plan_import(target, read_records(colour_photos["red"].parent))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)

"""The offline name backbone: checking, completion, synonyms, unknown names, user files, DwC ids."""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shellgui.core.catalog import VALIDATED, Catalog, curation
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.decisions import UndecidedError
from shellgui.core.determinations import checked_decision
from shellgui.core.errors import UsageError
from shellgui.core.export import export
from shellgui.core.taxonomy import (
    ACCEPTED,
    MISSPELLING,
    SYNONYM,
    UNKNOWN,
    WORMS_LSID,
    add_user_names,
    load_backbone,
)

ROOT = Path(__file__).parents[2]


def test_bundled_backbone_checks_names() -> None:
    names = load_backbone()
    assert len(names) > 9000
    check = names.check("Bolinus_brandaris")  # a model label
    assert (check.status, check.name, check.rank) == (ACCEPTED, "Bolinus brandaris", "species")
    assert check.name_id == WORMS_LSID + "140389"
    assert check.ranks == {
        "kingdom": "Animalia",
        "phylum": "Mollusca",
        "family": "Muricidae",
        "genus": "Bolinus",
    }
    assert check.note == ""
    synonym = names.check("achatina  FULICA")
    assert (synonym.status, synonym.name, synonym.family) == (SYNONYM, "Lissachatina fulica", "Achatinidae")
    assert "synonym of Lissachatina fulica" in synonym.note
    assert names.check("Aandara consociata").status == MISSPELLING
    genus = names.check("Conus sp.")
    assert (genus.status, genus.name, genus.rank, genus.family) == (ACCEPTED, "Conus", "genus", "Conidae")
    unknown = names.check("bolinus brandariz")
    assert (unknown.status, unknown.name, unknown.name_id) == (UNKNOWN, "Bolinus brandariz", "")
    assert "not found" in unknown.note and not unknown.known


def test_completion_prefix_first_accepted_first() -> None:
    names = load_backbone()
    assert names.complete("lissachatina f") == ["Lissachatina fulica"]
    fulica = names.complete("fulica")  # no prefix match: names containing it
    assert set(fulica) == {"Achatina fulica", "Lissachatina fulica"}
    assert names.complete("") == [] and names.complete("zzzz") == []
    assert len(names.complete("con", limit=5)) == 5


def test_user_names_extend_and_override(tmp_path: Path) -> None:
    own = tmp_path / "my names.csv"
    own.write_text(
        "scientificName;acceptedName;family;scientificNameID\n"
        "Conus marmoreus;;Conidae;urn:lsid:marinespecies.org:taxname:215480\n"
        "Conus pseudomarmoreus;Conus marmoreus;;\n",
        encoding="utf-8",
    )
    assert load_backbone().check("Conus marmoreus").status == UNKNOWN
    target, count = add_user_names(own)
    assert count == 2 and target.exists()
    names = load_backbone()
    check = names.check("conus marmoreus")
    assert (check.status, check.family, check.name_id, check.source) == (
        ACCEPTED,
        "Conidae",
        WORMS_LSID + "215480",
        "my names.csv",
    )
    assert names.check("Conus pseudomarmoreus").name == "Conus marmoreus"
    bad = tmp_path / "bad.csv"
    bad.write_text("genus,family\nConus,Conidae\n")
    with pytest.raises(UsageError, match="scientificName"):
        add_user_names(bad)


def test_checked_decision_uses_accepted_name_and_export_ids(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        a = repo.add_specimen(s, catalog_number="A").id
        b = repo.add_specimen(s, catalog_number="B").id
    decision, check = checked_decision("Achatina fulica")
    assert check is not None and check.status == SYNONYM
    curation.decide(catalog, a, decision, by="curator")
    unknown, _ = checked_decision("foo  bar", remarks="from a label")
    curation.decide(catalog, b, unknown, by="curator")
    with catalog.session() as s:
        record = repo.current_identification(s, a)
        assert record is not None
        assert (record.taxon, record.rank, record.verification_status, record.identified_by) == (
            "Lissachatina fulica",
            "species",
            VALIDATED,
            "curator",
        )
        assert "synonym" in (record.remarks or "")
        other = repo.current_identification(s, b)
        assert other is not None and other.taxon == "Foo bar"
        assert "not found in the name backbone" in (other.remarks or "") and "from a label" in (
            other.remarks or ""
        )
    with pytest.raises(UndecidedError):
        checked_decision("  ")
    assert checked_decision("not identifiable")[0].is_not_identifiable
    out = tmp_path / "dwca.zip"
    export(catalog, "dwc", out)
    with zipfile.ZipFile(out) as z:
        occ = list(csv.DictReader(io.StringIO(z.read("occurrence.csv").decode())))
        hist = list(csv.DictReader(io.StringIO(z.read("identification.csv").decode())))
        assert "scientificNameID" in z.read("meta.xml").decode()
    by_number = {r["catalogNumber"]: r for r in occ}
    assert by_number["A"]["scientificNameID"] == WORMS_LSID + "881469"
    assert (by_number["A"]["family"], by_number["A"]["phylum"]) == ("Achatinidae", "Mollusca")
    assert by_number["B"]["scientificNameID"] == "" and by_number["B"]["family"] == ""
    assert {h["scientificNameID"] for h in hist} == {WORMS_LSID + "881469", ""}
    export(catalog, "csv", tmp_path / "out.csv")
    flat = {
        r["catalog_number"]: r
        for r in csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8-sig")))
    }
    assert (flat["A"]["family"], flat["A"]["scientific_name_id"]) == ("Achatinidae", WORMS_LSID + "881469")
    assert flat["B"]["family"] == ""


def test_build_script_resolves_synonyms(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "LICENSE.SeeShell").write_text("MIT")
    (src / "finalShellInfo.csv").write_text(
        "ourName,aphiaID,acceptedName,acceptedAphiaID,commonName,family,habitat,isExtinct,Location List\n"
        "Achatina fulica,881463,Lissachatina fulica,881469,giant snail,Achatinidae,Terrestrial,False,[]\n"
        "Aandara consociata,504305,Anadara consociata,504305,None,Arcidae,Marine,False,[]\n"
        "Acar donaciformis,NA,None,None,None,None,None,False,None\n"
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build_name_backbone.py"), str(src), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    with gzip.open(out / "mollusc_names.csv.gz", "rt") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"Achatina fulica", "Lissachatina fulica", "Aandara consociata", "Anadara consociata"}
    assert rows["Achatina fulica"]["status"] == "synonym"
    assert rows["Aandara consociata"]["status"] == "misspelling"
    assert rows["Lissachatina fulica"]["accepted_aphia_id"] == "881469"
    assert (out / "LICENSE.SeeShell").exists()


def test_names_command(tmp_path: Path) -> None:
    from test_cli import run

    proc = run("names", "Achatina fulica", "Nonexistia fakeus", home=tmp_path / "home")
    assert proc.returncode == 1
    assert "synonym -> Lissachatina fulica" in proc.stdout
    assert proc.stderr.strip().endswith("marked as unchecked)") and proc.stderr.count("\n") == 1
    assert run("names", home=tmp_path / "home").returncode == 2

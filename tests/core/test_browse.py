"""Browsing in SQL: filters, sorting, counts, one row, thumbnails; bulk insert; bulk accept and undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellgui.core.catalog import PREDICTED, VALIDATED, Catalog, curation
from shellgui.core.catalog.browse import (
    SpecimenFilter,
    SpecimenSort,
    count_specimens,
    specimen_page,
    specimen_row,
    thumbnails,
)
from shellgui.core.catalog.bulk import NewSpecimen, add_specimens_bulk
from shellgui.core.errors import UsageError

SPECIMENS = [
    NewSpecimen("MZ-1", "Nha Trang", "A. Curator", taxon="Conus textile", score=0.97, photo_sha256="a" * 64),
    NewSpecimen(
        "MZ-2", "Okinawa", None, taxon="Harpa major", score=0.62, photo_sha256="b" * 64, thumbnail=b"jpg"
    ),
    NewSpecimen("MZ-3", "Cebu", "B. Diver", taxon=None, rank="uncertain", score=0.31),
    NewSpecimen("MZ-4", "100% Bay_side", None, taxon="Conus marmoreus", score=0.99, status=VALIDATED),
    NewSpecimen("MZ-5", None, None),  # no photo, no identification
]


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        assert add_specimens_bulk(s, SPECIMENS, chunk_size=2) == 5
    return catalog


def test_filters_counts_and_sorting(catalog: Catalog) -> None:
    with catalog.session() as s:
        assert count_specimens(s) == 5
        assert count_specimens(s, SpecimenFilter(text="conus")) == 2  # case-insensitive, on the taxon
        assert count_specimens(s, SpecimenFilter(text="100%")) == 1  # % is a character, not a wildcard
        assert count_specimens(s, SpecimenFilter(text="B_y")) == 0  # _ too ("Bay" would match a wildcard)
        assert count_specimens(s, SpecimenFilter(status=PREDICTED, max_score=0.7)) == 2
        assert count_specimens(s, SpecimenFilter(status=PREDICTED, decided=True)) == 2  # not the uncertain
        newest = specimen_page(s)
        assert [r.catalog_number for r in newest] == ["MZ-5", "MZ-4", "MZ-3", "MZ-2", "MZ-1"]
        by_score = specimen_page(s, sort=SpecimenSort("score", descending=False))
        assert [r.score for r in by_score] == [0.31, 0.62, 0.97, 0.99, None]  # empty values last
        by_taxon = specimen_page(s, sort=SpecimenSort("taxon", descending=True), limit=2, offset=1)
        assert [r.taxon for r in by_taxon] == ["Conus textile", "Conus marmoreus"]
        assert [r.photo_count for r in specimen_page(s, sort=SpecimenSort("photo_count"))][:2] == [1, 1]
        with pytest.raises(ValueError, match="cannot sort"):
            SpecimenSort("nonsense")


def test_one_row_and_thumbnails(catalog: Catalog) -> None:
    with catalog.session() as s:
        row = specimen_row(s, 2)
        assert row is not None and row.catalog_number == "MZ-2" and row.thumbnail == b"jpg"
        assert row.photo_count == 1 and row.verification_status == PREDICTED
        assert specimen_row(s, 999) is None
        assert thumbnails(s, [1, 2, 5]) == {2: b"jpg"}
        assert specimen_page(s)[3].thumbnail is None  # pages never carry thumbnail bytes


def test_accept_decided_then_undo_many(catalog: Catalog) -> None:
    with pytest.raises(UsageError):
        curation.accept_decided(catalog, 0, "tester")
    done = curation.accept_decided(catalog, 0.9, "tester")
    assert [d.specimen_id for d in done] == [1]  # MZ-2 is below 90 %, MZ-3 uncertain, MZ-4 already checked
    with catalog.session() as s:
        assert count_specimens(s, SpecimenFilter(status=VALIDATED)) == 2
    again = curation.accept_decided(catalog, 0.5, "tester", SpecimenFilter(text="Okinawa"))
    assert [d.specimen_id for d in again] == [2]
    undone, refused = curation.undo_many(
        catalog, [d.action_id for d in done + again if d.action_id], "tester"
    )
    assert len(undone) == 2 and refused == []
    with catalog.session() as s:
        assert count_specimens(s, SpecimenFilter(status=VALIDATED)) == 1

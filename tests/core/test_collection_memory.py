"""The collection as memory: stored embeddings, similar specimens, few-shot candidates, review flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select
from tinymodel import EMBEDDING_SIZE, build_open_set_model, colour_embedding

from shellgui.core.batch import catalogue_folder
from shellgui.core.catalog import Catalog
from shellgui.core.catalog import embeddings as store
from shellgui.core.catalog.decisions import Decision
from shellgui.core.catalog.schema import Photo, PhotoEmbedding
from shellgui.core.identify import identify_paths, record
from shellgui.core.inference import Classifier
from shellgui.core.memory import consult_collection, embed_missing_photos
from shellgui.core.review_flags import MISLABEL, NEAR_DUPLICATE, review_flags
from shellgui.core.similar import EmbeddingIndex, similar_specimens

REDS = [(230, 20, 20), (215, 35, 25), (245, 15, 40), (225, 45, 15), (235, 25, 35)]
MAGENTAS = [(230, 20, 230), (215, 35, 215), (245, 25, 240), (220, 40, 230)]
BLUES = [(20, 20, 230), (40, 30, 200)]


def _photo(folder: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rgb[0]}-{rgb[1]}-{rgb[2]}-{size[0]}.jpg"
    Image.new("RGB", size, rgb).save(path, quality=95)
    return path


@pytest.fixture
def open_set(tmp_path: Path) -> Classifier:
    return Classifier(build_open_set_model(tmp_path / "openset.onnx"))


def _add(
    catalog: Catalog, classifier: Classifier, path: Path, checked_as: str | None = None, number: str = ""
) -> int:
    photos, outcome = identify_paths(classifier, [path])
    prediction = outcome.results[0].prediction
    fields = {"catalog_number": number} if number else {}
    decision = Decision.named(checked_as, prediction) if checked_as else None
    return record(
        catalog, classifier, photos, prediction, decision=decision, by="curator", **fields
    ).specimen_id


def test_embeddings_are_stored_per_photo_as_float16(tmp_path: Path, open_set: Classifier) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    red = _add(catalog, open_set, _photo(tmp_path / "p", REDS[0]))
    with catalog.session() as s:
        row = s.scalars(select(PhotoEmbedding)).one()
        assert row.dim == EMBEDDING_SIZE and len(row.vector) == store.bytes_per_photo(EMBEDDING_SIZE) == 6
        assert row.model_sha256 == open_set.sha256
        vector = np.frombuffer(row.vector, "<f2").astype(np.float32)
        np.testing.assert_allclose(vector, colour_embedding(REDS[0]), atol=0.02)
        assert store.embedding_state(s, open_set.sha256) == (1, row.id)
    with catalog.session() as s, s.begin():  # deleting the photo deletes its embedding
        s.delete(s.scalars(select(Photo)).one().specimen)
    with catalog.session() as s:
        assert s.scalar(select(func.count(PhotoEmbedding.id))) == 0
    assert red > 0


def test_batch_cataloguing_stores_embeddings(tmp_path: Path, open_set: Classifier) -> None:
    folder = tmp_path / "folder"
    for rgb in REDS[:3]:
        _photo(folder, rgb)
    catalog = Catalog(tmp_path / "c.sqlite")
    list(catalogue_folder(catalog, open_set, folder, batch_size=2))
    with catalog.session() as s:
        assert store.embedding_state(s, open_set.sha256)[0] == 3


def test_old_photos_get_embeddings_backfilled(tmp_path: Path, tiny_model: Path, open_set: Classifier) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    plain = Classifier(tiny_model)
    for rgb in REDS[:3]:
        _add(catalog, plain, _photo(tmp_path / "p", rgb))
    gone = _photo(tmp_path / "p", BLUES[0])
    _add(catalog, plain, gone)
    gone.unlink()
    assert list(embed_missing_photos(catalog, plain)) == []  # no embedding output: nothing to do
    progress = list(embed_missing_photos(catalog, open_set))
    assert progress[-1] == (3, 1, 4)
    with catalog.session() as s:
        assert len(store.photos_without_embedding(s, open_set.sha256)) == 1


def test_similar_specimens_checked_first(tmp_path: Path, open_set: Classifier) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    photos = tmp_path / "p"
    unchecked = _add(catalog, open_set, _photo(photos, REDS[0]), number="MZ-1")
    checked = _add(catalog, open_set, _photo(photos, REDS[2]), checked_as="Redia rubra", number="MZ-2")
    blue = _add(catalog, open_set, _photo(photos, BLUES[0]), checked_as="Caerulea azurea")
    query = colour_embedding(REDS[1])
    found = similar_specimens(catalog, open_set.sha256, query, count=2)
    assert [s.specimen_id for s in found] == [checked, unchecked]  # the two reds, the checked one first
    assert found[0].checked and found[0].taxon == "Redia rubra" and found[0].catalog_number == "MZ-2"
    assert found[0].thumbnail and found[1].distance < 0.05 and not found[1].checked
    everything = similar_specimens(catalog, open_set.sha256, query, count=10, exclude_specimens={checked})
    # among the nearest ones, checked specimens come first, however far
    assert [s.specimen_id for s in everything] == [blue, unchecked]
    assert similar_specimens(catalog, "another-model", query) == []
    assert set(found[0].to_dict()) >= {"taxon", "catalog_number", "distance", "checked", "photo"}


def test_few_shot_candidate_from_checked_specimens(tmp_path: Path, open_set: Classifier) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    photos = tmp_path / "p"
    for rgb in MAGENTAS[:3]:
        _add(catalog, open_set, _photo(photos, rgb), checked_as="Magentia nova")
    _add(catalog, open_set, _photo(photos, REDS[0]), checked_as="Redia rubra")
    query_photos, outcome = identify_paths(open_set, [_photo(tmp_path / "new", MAGENTAS[3])])
    prediction = outcome.results[0].prediction
    assert prediction.not_known  # the model refuses it ...
    answer = consult_collection(catalog, open_set, prediction)
    assert answer is not None  # ... and the collection remembers it
    [candidate] = answer.candidates
    assert candidate.taxon == "Magentia nova" and candidate.supporting == 3
    assert candidate.summary == "from your collection: Magentia nova, 3 similar checked specimens"
    assert answer.similar[0].taxon == "Magentia nova" and answer.to_dict()["candidates"]
    # two checked specimens are not enough; a taxon the model knows is never a few-shot candidate
    red_query = identify_paths(open_set, [_photo(tmp_path / "new", REDS[1])])[1].results[0].prediction
    assert consult_collection(catalog, open_set, red_query).candidates == ()  # type: ignore[union-attr]


def test_model_without_embedding_has_no_collection_answer(
    tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]
) -> None:
    classifier = Classifier(tiny_model)
    prediction = identify_paths(classifier, [colour_photos["red"]])[1].results[0].prediction
    assert consult_collection(Catalog(tmp_path / "c.sqlite"), classifier, prediction) is None


def test_review_flags_mislabel_and_near_duplicate(tmp_path: Path, open_set: Classifier) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    photos = tmp_path / "p"
    for rgb in REDS[:4]:
        _add(catalog, open_set, _photo(photos, rgb), checked_as="Redia rubra")
    wrong = _add(catalog, open_set, _photo(photos, REDS[4]), checked_as="Viridia viridis")
    first = _add(catalog, open_set, _photo(photos, BLUES[0]))
    again = _add(catalog, open_set, _photo(photos, BLUES[0], size=(80, 60)))  # same shot, other file
    flags = review_flags(catalog, open_set.sha256, duplicate_distance=1e-4)
    assert [(f.kind, f.specimen_id) for f in flags if f.kind == MISLABEL] == [(MISLABEL, wrong)]
    mislabel = next(f for f in flags if f.kind == MISLABEL)
    assert mislabel.message == (
        "likely mislabel: checked as Viridia viridis, but its 4 nearest checked specimens are Redia rubra"
    )
    duplicates = [(f.specimen_id, f.others) for f in flags if f.kind == NEAR_DUPLICATE]
    assert duplicates == [(first, (again,))]


def test_numpy_and_hnsw_indexes_agree() -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(300, 16)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    ids = np.arange(1000, 1300)
    exact = EmbeddingIndex(ids, rows.astype(np.float16))
    hnsw = EmbeddingIndex(ids[:100], rows[:100].astype(np.float16), library_min_rows=150)
    hnsw.add(ids[100:], rows[100:].astype(np.float16))  # crossing the size switches to the library
    assert not exact.uses_library and hnsw.uses_library and len(hnsw) == len(exact) == 300
    hits = 0
    for q in rows[:20]:
        want, want_d = exact.search(q, 5)
        got, got_d = hnsw.search(q, 5)
        assert want[0] == got[0] and abs(want_d[0]) < 1e-3 and abs(got_d[0]) < 1e-3
        hits += len(set(want.tolist()) & set(got.tolist()))
    assert hits >= 0.9 * 100


def test_large_index_is_saved_and_reused(
    tmp_path: Path, open_set: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shellgui.core.similar as similar

    monkeypatch.setattr(similar, "LIBRARY_MIN_ROWS", 3)
    monkeypatch.setattr(similar, "SAVE_EVERY_ROWS", 1)
    monkeypatch.setattr(similar, "_cache", {})
    catalog = Catalog(tmp_path / "c.sqlite")
    for rgb in REDS[:2] + BLUES:
        _add(catalog, open_set, _photo(tmp_path / "p", rgb))
    with catalog.session() as s, s.begin():  # stored rows of this size switch to the library at once
        for photo_id in range(1, 5):
            store.store_embedding(s, photo_id, "big-model", colour_embedding((photo_id * 50, 20, 20)))
    index = similar.catalogue_index(catalog, "big-model")
    assert index is not None and index.uses_library and len(index) == 4
    saved = list((tmp_path / "home" / "cache" / "similar").glob("*.usearch"))
    assert len(saved) == 1
    monkeypatch.setattr(similar, "_cache", {})  # a new session restores it from the cache folder
    monkeypatch.setattr(store, "load_embeddings", lambda *a: pytest.fail("the saved index was rebuilt"))
    again = similar.catalogue_index(catalog, "big-model")
    assert again is not None and len(again) == 4 and again.uses_library


def test_similar_to_a_catalogued_specimen_uses_stored_embeddings(
    tmp_path: Path, open_set: Classifier, tiny_model: Path
) -> None:
    from shellgui.core.memory import consult_for_specimen

    catalog = Catalog(tmp_path / "c.sqlite")
    photos = tmp_path / "p"
    first = _add(catalog, open_set, _photo(photos, REDS[0]))
    second = _add(catalog, open_set, _photo(photos, REDS[1]), checked_as="Redia rubra")
    _add(catalog, open_set, _photo(photos, BLUES[0]))
    answer = consult_for_specimen(catalog, open_set, first)
    assert answer is not None and [s.specimen_id for s in answer.similar][0] == second
    assert first not in {s.specimen_id for s in answer.similar}
    plain = Classifier(tiny_model)
    assert consult_for_specimen(catalog, plain, first) is None
    old = _add(catalog, plain, _photo(photos, REDS[2]))  # catalogued with a model without embeddings
    late = consult_for_specimen(catalog, open_set, old)
    assert late is not None and late.similar[0].taxon == "Redia rubra"

"""The curator's actions: never overwrite, explicit decisions with a name, correct/undo/delete, audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from shellgui.core.catalog import NOT_IDENTIFIABLE, PREDICTED, VALIDATED, Catalog, queries
from shellgui.core.catalog import curation as cur
from shellgui.core.catalog.decisions import Decision, UndecidedError
from shellgui.core.errors import UsageError
from shellgui.core.identify import identify_paths, record
from shellgui.core.inference import Classifier


@pytest.fixture
def setup(tmp_path: Path, tiny_model: Path, colour_photos: dict[str, Path]):  # type: ignore[no-untyped-def]
    catalog = Catalog(tmp_path / "c.sqlite")
    classifier = Classifier(tiny_model)

    def identified(name: str):  # type: ignore[no-untyped-def]
        photos, outcome = identify_paths(classifier, [colour_photos[name]])
        return photos, outcome.results[0].prediction

    return catalog, classifier, identified


def statuses(catalog: Catalog, specimen_id: int) -> list[tuple[str | None, str]]:
    detail = queries.specimen_detail(catalog, specimen_id)
    assert detail is not None
    return [(h.taxon, h.verification_status) for h in detail.history]


def test_a_catalogued_photo_is_recognised_and_never_silently_overwritten(setup) -> None:  # type: ignore[no-untyped-def]
    catalog, classifier, identified = setup
    photos, prediction = identified("red")
    assert queries.find_catalogued_paths(catalog, [photos[0].path]) is None
    first = record(
        catalog,
        classifier,
        photos,
        prediction,
        decision=Decision.accept(prediction.taxon, prediction.rank, prediction.score),
        by="A. Curator",
        catalog_number="MZ-1187",
        locality="Sète",
    )
    known = queries.find_catalogued_paths(catalog, [photos[0].path])
    assert known is not None and known.specimen_id == first.specimen_id
    assert known.describe == "already catalogued as MZ-1187, checked by A. Curator (Redia rubra)"
    # the same photo saved with another number is refused without an explicit edit, and nothing changes
    with pytest.raises(cur.CurationError, match="already has catalogue number 'MZ-1187'"):
        record(catalog, classifier, photos, prediction, catalog_number="MZ-9999")
    # filling an empty field is allowed and logged; the checked identification stays current
    again = record(catalog, classifier, photos, prediction, by="B. Helper", collector="Lamarck")
    assert again.specimen_id == first.specimen_id
    assert statuses(catalog, first.specimen_id) == [("Redia rubra", PREDICTED), ("Redia rubra", VALIDATED)]
    # an explicit edit replaces the number and is recorded with old and new values, who and when
    edit = record(
        catalog, classifier, photos, prediction, by="A. Curator", edit=True, catalog_number="MZ-9999"
    )
    detail = queries.specimen_detail(catalog, first.specimen_id)
    assert detail is not None and detail.fields["catalog_number"] == "MZ-9999"
    assert detail.fields["locality"] == "Sète" and detail.fields["collector"] == "Lamarck"
    logged = {e.id: e for e in detail.log}
    assert logged[edit.action_id].details["changes"] == {"catalog_number": ["MZ-1187", "MZ-9999"]}
    assert logged[edit.action_id].by == "A. Curator" and logged[edit.action_id].at is not None
    assert logged[again.action_id].details["changes"] == {"collector": [None, "Lamarck"]}


def test_accept_is_idempotent_and_history_is_only_appended(setup) -> None:  # type: ignore[no-untyped-def]
    catalog, classifier, identified = setup
    photos, prediction = identified("red")
    accept = Decision.accept(prediction.taxon, prediction.rank, prediction.score)
    first = record(catalog, classifier, photos, prediction, decision=accept, by="A. Curator")
    twice = record(catalog, classifier, photos, prediction, decision=accept, by="A. Curator")
    assert twice.action_id is None
    assert cur.decide(catalog, first.specimen_id, accept, "A. Curator").action_id is None
    history = queries.specimen_detail(catalog, first.specimen_id).history  # type: ignore[union-attr]
    assert [h.verification_status for h in history] == [PREDICTED, VALIDATED]
    # a correction appends; the earlier entries are untouched
    cur.decide(catalog, first.specimen_id, Decision.named("Redia sp.", prediction), "B. Expert")
    after = queries.specimen_detail(catalog, first.specimen_id).history  # type: ignore[union-attr]
    assert after[:2] == history
    assert (after[-1].taxon, after[-1].rank, after[-1].identified_by) == ("Redia sp.", "genus", "B. Expert")


def test_uncertain_answers_are_never_decisions(setup) -> None:  # type: ignore[no-untyped-def]
    catalog, classifier, identified = setup
    photos, prediction = identified("grey")
    assert prediction.taxon is None
    with pytest.raises(UndecidedError):
        Decision.accept(prediction.taxon, prediction.rank, prediction.score)
    for empty in ("", "  ", "uncertain"):
        with pytest.raises(UndecidedError):
            Decision.named(empty, prediction)
    assert Decision.named("not identifiable").is_not_identifiable
    typed = Decision.named(prediction.top_k[1].name, prediction)
    assert typed.rank == prediction.top_k[1].rank and typed.score == prediction.top_k[1].probability
    assert Decision.named("Conus textile").rank == "species" and Decision.named("Conidae").rank == "family"
    done = record(catalog, classifier, photos, prediction)  # saved unchecked: no name needed
    with pytest.raises(UsageError, match="who is deciding"):
        cur.decide(catalog, done.specimen_id, Decision.not_identifiable(), "  ")
    cur.decide(catalog, done.specimen_id, Decision.not_identifiable(), "A. Curator")
    current = queries.current_identification(catalog, done.specimen_id)
    assert current is not None and current.remarks == NOT_IDENTIFIABLE and current.decided_by == "A. Curator"


def test_withdraw_and_undo_append_and_restore(setup) -> None:  # type: ignore[no-untyped-def]
    catalog, classifier, identified = setup
    photos, prediction = identified("red")
    sid = record(catalog, classifier, photos, prediction).specimen_id
    check = cur.decide(catalog, sid, Decision.named("Redia sp.", prediction), "A. Curator")
    assert queries.review_queue(catalog) == []
    withdrawn = cur.withdraw(catalog, sid, "A. Curator", "wrong tray")
    assert [r.specimen_id for r in queries.review_queue(catalog)] == [sid]
    current = queries.current_identification(catalog, sid)
    assert current is not None and current.taxon == "Redia rubra" and "wrong tray" in (current.remarks or "")
    with pytest.raises(cur.CurationError, match="no checked identification"):
        cur.withdraw(catalog, sid, "A. Curator")
    # undo in reverse order; an older action cannot be undone past a newer one
    with pytest.raises(cur.CurationError, match="changed the specimen since"):
        cur.undo(catalog, check.action_id, "A. Curator")  # type: ignore[arg-type]
    cur.undo(catalog, withdrawn.action_id, "A. Curator")  # type: ignore[arg-type]
    assert queries.current_identification(catalog, sid).taxon == "Redia sp."  # type: ignore[union-attr]
    cur.undo(catalog, check.action_id, "A. Curator")  # type: ignore[arg-type]
    assert statuses(catalog, sid) == [
        ("Redia rubra", PREDICTED),
        ("Redia sp.", VALIDATED),
        ("Redia rubra", PREDICTED),
        ("Redia sp.", VALIDATED),
        ("Redia rubra", PREDICTED),
    ]
    with pytest.raises(cur.CurationError, match="already undone"):
        cur.undo(catalog, check.action_id, "A. Curator")  # type: ignore[arg-type]


def test_undo_of_a_new_record_removes_it_and_undo_of_an_edit_restores(setup) -> None:  # type: ignore[no-untyped-def]
    catalog, classifier, identified = setup
    photos, prediction = identified("blue")
    done = record(catalog, classifier, photos, prediction, catalog_number="MZ-1")
    edit = cur.edit_specimen(catalog, done.specimen_id, {"catalog_number": "MZ-2", "notes": "chipped"}, "Ann")
    assert cur.edit_specimen(catalog, done.specimen_id, {"catalog_number": "MZ-2"}, "Ann").action_id is None
    cur.undo(catalog, edit.action_id, "Ann")  # type: ignore[arg-type]
    fields = queries.specimen_detail(catalog, done.specimen_id).fields  # type: ignore[union-attr]
    assert fields["catalog_number"] == "MZ-1" and fields["notes"] is None
    cur.undo(catalog, done.action_id, "Ann")  # type: ignore[arg-type]
    assert queries.specimen_detail(catalog, done.specimen_id) is None
    assert queries.find_catalogued_paths(catalog, [photos[0].path]) is None


def test_catalogue_numbers_stay_unique_with_a_clear_message(setup) -> None:  # type: ignore[no-untyped-def]
    catalog, classifier, identified = setup
    red, red_prediction = identified("red")
    blue, blue_prediction = identified("blue")
    record(catalog, classifier, red, red_prediction, catalog_number="MZ-1")
    with pytest.raises(cur.CurationError, match="MZ-1 is already used by specimen 1"):
        record(catalog, classifier, blue, blue_prediction, catalog_number="MZ-1")
    assert len(queries.list_specimens(catalog)) == 1


def test_deletes_ask_for_a_name_and_are_listed_in_the_audit_log(setup) -> None:  # type: ignore[no-untyped-def]
    catalog, classifier, identified = setup
    red, red_prediction = identified("red")
    green, green_prediction = identified("green")
    keep = record(catalog, classifier, red, red_prediction, catalog_number="MZ-5").specimen_id
    gone = record(catalog, classifier, green, green_prediction, catalog_number="MZ-6").specimen_id
    with pytest.raises(UsageError):
        cur.delete_specimen(catalog, gone, None)
    cur.delete_specimen(catalog, gone, "A. Curator")
    photo = queries.specimen_detail(catalog, keep).photos[0]  # type: ignore[union-attr]
    cur.delete_photo(catalog, photo.id, "A. Curator")
    assert queries.specimen_detail(catalog, gone) is None
    assert queries.specimen_detail(catalog, keep).photos == ()  # type: ignore[union-attr]
    log = cur_log = queries.audit_log(catalog)
    assert [e.action for e in log[:2]] == [cur.DELETE_PHOTO, cur.DELETE_SPECIMEN]
    deleted = cur_log[1]
    assert "MZ-6" in deleted.summary and "Viridia viridis" in deleted.summary and deleted.by == "A. Curator"
    assert deleted.details["fields"]["catalog_number"] == "MZ-6"
    assert deleted.details["photos"][0]["path"].endswith("green.jpg")
    assert deleted.details["identifications"][0]["taxon"] == "Viridia viridis"
    assert log[0].details["path"].endswith("red.jpg")
    with pytest.raises(cur.CurationError, match="cannot be undone"):
        cur.undo(catalog, log[0].id, "A. Curator")
    with pytest.raises(cur.CurationError, match="not in the catalogue"):
        cur.delete_specimen(catalog, gone, "A. Curator")

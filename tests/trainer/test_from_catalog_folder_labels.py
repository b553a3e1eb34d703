"""`catalog --label-from-folder` makes a catalogue that `shellgui-train --from-catalog` learns from."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from shellgui.core.catalog import PREDICTED, VALIDATED, Catalog
from shellgui.core.catalog import repository as repo
from shellgui_train.data import samples_from_catalog, split_by_specimen

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from test_cli import run


def make_collection(root: Path) -> None:
    """Two species folders of three photos each, one photo in the root, and a copy filed in a wrong folder."""
    for i, folder in enumerate(("Bolinus_brandaris", "achatina fulica")):
        (root / folder).mkdir(parents=True)
        for j in range(3):
            Image.new("RGB", (64, 48), (40 + 60 * i, 20 + 70 * j, 90)).save(root / folder / f"s{j}_A.jpg")
    Image.new("RGB", (64, 48), (7, 7, 7)).save(root / "loose.jpg")
    (root / "Nonexistia fakeus").mkdir()
    (root / "Nonexistia fakeus" / "copy.jpg").write_bytes(
        (root / "Bolinus_brandaris" / "s0_A.jpg").read_bytes()
    )


def test_folder_labels_then_from_catalog(tmp_path: Path, tiny_model: Path) -> None:
    root, db, home = tmp_path / "drawer", tmp_path / "c.sqlite", tmp_path / "home"
    make_collection(root)
    args = (
        "catalog",
        str(root),
        "--db",
        str(db),
        "--model",
        str(tiny_model),
        "--quiet",
        "--label-from-folder",
    )
    proc = run(*args, "--by", "J. Curator", home=home)
    assert proc.returncode == 0, proc.stderr
    assert "3  achatina fulica -> Lissachatina fulica (synonym, Achatinidae)" in proc.stdout
    assert "3  Bolinus_brandaris -> Bolinus brandaris (accepted, Muricidae)" in proc.stdout
    assert "loose.jpg: lies directly in the catalogued folder" in proc.stderr
    assert "copy.jpg: not labelled 'Nonexistia fakeus': already checked as Bolinus brandaris" in proc.stderr

    catalog = Catalog(db)
    with catalog.session() as s:
        rows = repo.list_specimens(s)
        assert len(rows) == 7
        loose = next(r for r in rows if (r.photo_path or "").endswith("loose.jpg"))
        assert loose.verification_status == PREDICTED  # no folder: left for review
        checked = [r for r in rows if r.verification_status == VALIDATED]
        assert len(checked) == 6
        hist = repo.history(s, checked[0].specimen_id)
        assert [h.verification_status for h in hist] == [PREDICTED, VALIDATED]  # the model's guess is kept
        assert hist[-1].identified_by == "J. Curator" and "folder name" in (hist[-1].remarks or "")
    catalog.close()

    samples = samples_from_catalog(str(db))
    assert sorted({s.label for s in samples}) == ["Bolinus_brandaris", "Lissachatina_fulica"]
    assert len(samples) == 6 and len({s.specimen for s in samples}) == 6
    splits = split_by_specimen(samples, val_fraction=0.34, test_fraction=0.34)
    assert splits.labels == ["Bolinus_brandaris", "Lissachatina_fulica"]
    assert len(splits.train) + len(splits.val) + len(splits.test) == 6 and splits.test

    # running it again changes nothing and relabels nothing
    again = run(*args, "--restart", "--by", "J. Curator", home=home)
    assert again.returncode == 0 and "0 catalogued, 8 already in the catalogue" in again.stdout
    with Catalog(db).session() as s:
        assert sum(len(repo.history(s, r.specimen_id)) for r in repo.list_specimens(s)) == 13

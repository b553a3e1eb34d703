"""``shellgui identify`` and ``shellgui similar`` with a model that has an embedding and a bank.

Run in-process (``test_cli.py`` covers the real subprocess, exit codes and light imports): each call is
``shellgui.cli.main`` with the test's own SHELLGUI_HOME.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from tinymodel import build_open_set_model

from shellgui.cli import main


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def call(*args: str, home: Path) -> Ran:
        monkeypatch.setenv("SHELLGUI_HOME", str(home))
        code = main(list(args))
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return call


def _photo(folder: Path, name: str, rgb: tuple[int, int, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jpg"
    Image.new("RGB", (64, 48), rgb).save(path, quality=95)
    return path


def test_far_photo_is_not_known_in_text_and_json(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    model = build_open_set_model(tmp_path / "m.onnx")
    magenta = _photo(tmp_path / "p", "magenta", (230, 20, 230))
    home = tmp_path / "home"
    text = run("identify", str(magenta), "--no-record", "--model", str(model), home=home)
    assert text.returncode == 0, text.stderr
    assert "not something this model knows — looks unlike any of the 9 photos this model learned from" in (
        text.stdout
    )
    hint = "the most similar photo it learned from is Redia rubra: a hint, not an identification"
    assert hint in text.stdout
    assert "none of them is an answer" in text.stdout.split(hint)[1].splitlines()[1]  # before the scores
    data = json.loads(run("identify", str(magenta), "--json", "--model", str(model), home=home).stdout)
    result = data["results"][0]
    assert result["taxon"] is None and result["rank"] == "unknown" and result["not_known"] is True
    assert result["hint"] == "Redia rubra" and result["open_set"]["unknown"] is True
    assert result["similar"] == [] and result["candidates"] == []


def test_similar_command_and_identify_show_the_collection(tmp_path: Path, tiny_model: Path, run) -> None:  # type: ignore[no-untyped-def]
    model = build_open_set_model(tmp_path / "m.onnx")
    home = tmp_path / "home"
    reds = [_photo(tmp_path / "p", f"red{i}", rgb) for i, rgb in enumerate([(230, 20, 20), (215, 35, 25)])]
    for path in reds:
        assert run("identify", str(path), "--model", str(model), home=home).returncode == 0
    query = _photo(tmp_path / "q", "query", (245, 15, 40))
    data = json.loads(run("similar", str(query), "--json", "--model", str(model), home=home).stdout)
    assert [Path(s["photo"]).name for s in data["similar"]][:2] in (
        ["red0.jpg", "red1.jpg"],
        ["red1.jpg", "red0.jpg"],
    )
    assert data["similar"][0]["taxon"] == "Redia rubra" and data["answer"]["taxon"] == "Redia rubra"
    own = json.loads(run("similar", str(reds[0]), "--json", "--model", str(model), home=home).stdout)
    assert [Path(s["photo"]).name for s in own["similar"]] == ["red1.jpg"]  # not itself
    text = run("identify", str(query), "--model", str(model), home=home)
    assert "similar specimens in your catalogue (checked first):" in text.stdout
    flags = run("similar", "--flags", "--json", "--model", str(model), home=home)
    # in the tiny model's 3-value embedding space, shades of red are near-duplicates of each other
    assert flags.returncode == 0 and {f["kind"] for f in json.loads(flags.stdout)["flags"]} == {
        "near-duplicate"
    }
    no_embedding = run("similar", str(query), "--model", str(tiny_model), home=home)
    assert no_embedding.returncode == 2 and "has no embedding output" in no_embedding.stderr
    assert len(no_embedding.stderr.strip().splitlines()) == 1
    usage = run("similar", "--model", str(model), home=home)
    assert usage.returncode == 2 and "give a PHOTO" in usage.stderr


def test_similar_warns_of_catalogued_photos_it_cannot_read(tmp_path: Path, tiny_model: Path, run) -> None:  # type: ignore[no-untyped-def]
    model = build_open_set_model(tmp_path / "m.onnx")
    home = tmp_path / "home"
    reds = [_photo(tmp_path / "p", f"red{i}", rgb) for i, rgb in enumerate([(230, 20, 20), (215, 35, 25)])]
    for path in reds:  # catalogued with a model without embeddings: nothing stored to compare with
        assert run("identify", str(path), "--model", str(tiny_model), home=home).returncode == 0
    reds[1].unlink()  # then one photo is moved away
    query = _photo(tmp_path / "q", "query", (245, 15, 40))
    proc = run("similar", str(query), "--model", str(model), home=home)
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "1 of 2 catalogued photos" in warning[0]
    assert "could not be read" in warning[0]
    assert "red0.jpg" in proc.stdout  # the readable one is compared


def test_models_list_says_what_the_model_can_refuse(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    build_open_set_model(home / "data" / "models" / "openset.onnx")
    proc = run("models", home=home)
    assert "open set: k-NN (k=3) on the embeddings of 9 training photos" in proc.stdout
    from tinymodel import OPEN_SET, open_set_card

    from shellgui.core.models import open_set_words

    tiny = open_set_card(open_set={**OPEN_SET, "threshold": 8.49e-05})
    assert "above 8.49e-05 is 'not something this model knows'" in open_set_words(tiny)

"""The int8 twin: quantised with ONNX Runtime (QDQ, per-channel), parity-checked, and run by the app on
the CPU when the preference says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from shellgui.core.inference import Classifier
from shellgui.core.models import install_model, installed_models, int8_twin
from shellgui_train import quantize
from shellgui_train.cli import main
from tests.tinymodel import LABELS, build_open_set_model

COLOURS = {LABELS[0]: (220, 30, 30), LABELS[2]: (30, 220, 30), LABELS[3]: (30, 30, 220)}


def _photos(root: Path, per_class: int = 8) -> Path:
    rng = np.random.default_rng(0)
    for label, rgb in COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            shade = np.clip(np.array(rgb) + rng.integers(-25, 25, 3), 0, 255)
            pixels = np.clip(shade + rng.normal(0, 12, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{label}_{i}.png")
    return root


def test_quantised_twin_keeps_card_embedding_and_bank_and_agrees(tmp_path: Path) -> None:
    model = build_open_set_model(tmp_path / "model.onnx")
    photos = _photos(tmp_path / "photos")
    assert main(["quantize", str(model), "--calibration", str(photos)]) == 0
    twin = int8_twin(model)
    assert twin is not None and twin.name == "model.int8.onnx"
    graph = onnx.load(str(twin))
    assert any(n.op_type == "QuantizeLinear" for n in graph.graph.node)  # really QDQ int8
    fp32 = Classifier(model, provider="cpu")
    int8 = Classifier(model, provider="cpu", prefer_int8=True)
    assert (fp32.precision, int8.precision, int8.runs_on) == ("fp32", "int8", "CPU, int8")
    assert int8.path == str(twin) and int8.model_path == str(model)  # settings remember the model chosen
    assert int8.card.provenance["quantization"] == "int8-qdq-per-channel"
    assert int8.card.labels == fp32.card.labels and int8.has_embedding and int8.can_refuse
    assert int8.bank is not None and fp32.bank is not None
    assert np.array_equal(int8.bank.embeddings, fp32.bank.embeddings)
    from shellgui.core.inference.preprocess import preprocess

    image = Image.new("RGB", (32, 32), (230, 20, 230))
    magenta = np.stack([preprocess(image, fp32.card.preprocessing)])
    assert fp32.open_set_scores(fp32.forward(magenta)[1]) is not None
    answer = int8.open_set_scores(int8.forward(magenta)[1])
    assert answer is not None and answer[0].unknown  # the open-set answer survives quantisation
    # the app does not run the twin when the preference is off, nor an already quantised file twice
    assert Classifier(model, provider="cpu", prefer_int8=False).precision == "fp32"
    assert main(["quantize", str(twin), "--calibration", str(photos)]) == 1


def test_a_twin_that_disagrees_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_open_set_model(tmp_path / "model.onnx")
    photos = _photos(tmp_path / "photos")
    monkeypatch.setattr(quantize, "MIN_TOP1_AGREEMENT", 1.01)  # a bar no model can pass
    report = quantize.quantize_model(model, quantize.photos_in(photos))
    assert report.written is None and "agreement" in report.reason
    assert int8_twin(model) is None


def test_too_few_photos_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = build_open_set_model(tmp_path / "model.onnx")
    (tmp_path / "empty").mkdir()
    assert main(["quantize", str(model), "--calibration", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least 4" in err[0]


def test_the_twin_is_installed_with_its_model_and_not_listed_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELLGUI_HOME", str(tmp_path / "home"))
    model = build_open_set_model(tmp_path / "model.onnx")
    assert quantize.quantize_model(model, quantize.photos_in(_photos(tmp_path / "photos"))).written
    installed = install_model(model, "colours")
    assert int8_twin(installed) is not None
    listed = [m.path.name for m in installed_models() if not m.bundled]
    assert listed == ["colours.onnx"]

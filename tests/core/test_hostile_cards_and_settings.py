"""Settings files and model cards as a hostile or careless hand writes them: each refused in one line
(cards) or each bad field falling back to its default with one warning (settings)."""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from tinymodel import build_tiny_model, tiny_card

from shellgui.core.errors import ModelError
from shellgui.core.inference import Classifier
from shellgui.core.modelcard import METADATA_KEY, ModelCard
from shellgui.core.models import installed_models
from shellgui.core.settings import SCHEMA_VERSION, Settings

# -- settings -----------------------------------------------------------------------------------------

BAD_FIELDS = {
    "top_k as text": ("top_k", "five"),
    "top_k zero": ("top_k", 0),
    "top_k huge": ("top_k", 10**40),
    "top_k float": ("top_k", 3.5),
    "top_k bool": ("top_k", True),
    "batch_size negative": ("batch_size", -4),
    "batch_size null": ("batch_size", None),
    "batch_size list": ("batch_size", [8]),
    "provider unknown": ("provider", "tpu"),
    "provider number": ("provider", 1),
    "catalog object": ("catalog", {"url": "x"}),
    "catalog huge": ("catalog", "x" * 100_000),
    "model list": ("model", ["a.onnx"]),
    "user_name number": ("user_name", 42),
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_a_bad_settings_field_falls_back_with_one_warning(
    case: str, caplog: pytest.LogCaptureFixture
) -> None:
    field, value = BAD_FIELDS[case]
    Settings.file().parent.mkdir(parents=True)
    Settings.file().write_text(json.dumps({field: value, "top_k" if field != "top_k" else "batch_size": 7}))
    with caplog.at_level(logging.WARNING):
        settings = Settings.load()
    assert getattr(settings, field) == getattr(Settings(), field)
    assert (settings.batch_size if field == "top_k" else settings.top_k) == 7  # the good field is kept
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and field in warnings[0] and "\n" not in warnings[0]


@pytest.mark.parametrize(
    "content",
    [b"[1, 2, 3]", b"null", b"42", b'"text"', b"{", b"\xff\xfe\x00garbage", b"[" * 100_000, b""],
    ids=["list", "null", "number", "string", "cut", "binary", "deep", "empty"],
)
def test_a_broken_settings_file_gives_the_defaults(content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    Settings.file().parent.mkdir(parents=True)
    Settings.file().write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert Settings.load() == Settings()
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()


def test_settings_are_written_with_a_schema_version_and_read_back() -> None:
    Settings(top_k=9, user_name="A. Curator").save()
    data = json.loads(Settings.file().read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["top_k"] == 9
    assert Settings.load().user_name == "A. Curator"


def test_every_command_survives_a_broken_settings_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text('{"top_k": [], "batch_size": "x", "provider": null}')
    env = {**os.environ, "SHELLGUI_HOME": str(home)}
    out = str(tmp_path / "out.csv")
    proc = subprocess.run(
        [sys.executable, "-m", "shellgui", "export", out, "--format", "dwc"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and "Exported 0" in proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 3  # one warning per bad field


# -- model cards --------------------------------------------------------------------------------------


def _card_dict() -> dict:  # type: ignore[type-arg]
    return json.loads(tiny_card().to_json())


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


CARD_CASES = {
    "format as text": lambda c: c.update(format="one"),
    "format as float": lambda c: c.update(format=1.5),
    "format from the future": lambda c: c.update(format=99),
    "thresholds as list": lambda c: c.update(thresholds=[0.5, 0.6]),
    "negative threshold": lambda c: c["thresholds"].update(species=-0.1),
    "threshold above one": lambda c: c["thresholds"].update(genus=3),
    "threshold as text": lambda c: c["thresholds"].update(genus="high"),
    "temperature infinity": lambda c: c.update(temperature=float("inf")),
    "temperature nan": lambda c: c.update(temperature=float("nan")),
    "temperature zero": lambda c: c.update(temperature=0),
    "temperature negative": lambda c: c.update(temperature=-1),
    "temperature as text": lambda c: c.update(temperature="warm"),
    "input size huge": lambda c: c["preprocessing"].update(input_size=100_000, resize_size=100_000),
    "input size float": lambda c: c["preprocessing"].update(input_size=32.5),
    "input size bool": lambda c: c["preprocessing"].update(input_size=True),
    "resize below input": lambda c: c["preprocessing"].update(resize_size=8),
    "mean infinite": lambda c: c["preprocessing"].update(mean=[float("inf"), 0, 0]),
    "mean as text": lambda c: c["preprocessing"].update(mean="imagenet"),
    "std zero": lambda c: c["preprocessing"].update(std=[0, 1, 1]),
    "two means": lambda c: c["preprocessing"].update(mean=[0.5, 0.5]),
    "interpolation unknown": lambda c: c["preprocessing"].update(interpolation="lanczos9"),
    "preprocessing as list": lambda c: c.update(preprocessing=[224]),
    "taxa as object": lambda c: c.update(taxa={"a": 1}),
    "taxon as text": lambda c: c.update(taxa=["Redia rubra"]),
    "taxon label as list": lambda c: c["taxa"][0].update(label=["x"]),
    "taxon unknown key": lambda c: c["taxa"][0].update(colour="red"),
    "no taxa": lambda c: c.update(taxa=[]),
    "duplicate labels": lambda c: c["taxa"].append(copy.deepcopy(c["taxa"][0])),
    "no name": lambda c: c.pop("name"),
    "no preprocessing": lambda c: c.pop("preprocessing"),
    "ood floor infinite": lambda c: c.update(ood_logit_floor=float("-inf")),
    "provenance as list": lambda c: c.update(provenance=[1]),
}


@pytest.mark.parametrize("case", sorted(CARD_CASES))
def test_a_malformed_card_is_refused_in_one_line(case: str) -> None:
    card = _card_dict()
    CARD_CASES[case](card)
    with pytest.raises(ModelError) as info:
        ModelCard.from_json(json.dumps(card))
    message = str(info.value)
    assert "\n" not in message and len(message) < 260 and "Traceback" not in message


def test_deep_nesting_and_nan_metrics() -> None:
    with pytest.raises(ModelError, match="nested too deeply"):
        ModelCard.from_json("[" * 100_000 + "]" * 100_000)
    card = _card_dict()
    card["provenance"] = {"deep": _nested(200)}
    card["metrics"] = {"test_top1": float("nan"), "test_top3": 0.9}
    parsed = ModelCard.from_json(json.dumps(card))
    assert parsed.metrics == {"test_top3": 0.9}  # a metric is only shown: a NaN one is left out


def _with_raw_card(path: Path, text: str) -> Path:
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = text
    onnx.save(model, str(path))
    return path


def test_one_bad_model_file_never_hides_the_others(tmp_path: Path, shellgui_home: Path) -> None:
    models = shellgui_home / "data" / "models"
    build_tiny_model(models / "a-good.onnx")
    _with_raw_card(build_tiny_model(models / "b-format.onnx"), json.dumps({**_card_dict(), "format": "one"}))
    _with_raw_card(build_tiny_model(models / "c-deep.onnx"), "[" * 50_000 + "]" * 50_000)
    (models / "d-junk.onnx").write_bytes(b"\x00junk")
    os.mkfifo(models / "e-fifo.onnx")
    os.symlink(models / "f-loop.onnx", models / "f-loop.onnx")
    found = installed_models()
    assert found[0].bundled and found[0].card is not None
    by_name = {m.path.name: m for m in found}
    assert by_name["a-good.onnx"].card is not None
    for name in ("b-format.onnx", "c-deep.onnx", "d-junk.onnx"):
        assert by_name[name].card is None and "\n" not in by_name[name].label
    env = {**os.environ, "SHELLGUI_HOME": str(shellgui_home)}
    proc = subprocess.run(
        [sys.executable, "-m", "shellgui", "models"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and "tiny-test" in proc.stdout


class _FiveColumns:
    """A session whose symbolic class dimension turns out to be 5 at run time (the card says 4)."""

    def __init__(self, session: object) -> None:
        self.session = session

    def run(self, names: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        batch = next(iter(feed.values())).shape[0]
        return [np.zeros((batch, 5), np.float32)]

    def __getattr__(self, name: str) -> object:
        return getattr(self.session, name)


def test_run_time_surprises_are_the_models_failure(tmp_path: Path) -> None:
    arrays = [np.zeros((3, 32, 32), np.float32)]
    wrong = Classifier(build_tiny_model(tmp_path / "tiny.onnx"))
    wrong.session = _FiveColumns(wrong.session)  # type: ignore[assignment]
    with pytest.raises(ModelError, match="shape") as info:
        wrong.predict(arrays)
    assert "\n" not in str(info.value)
    nan = build_tiny_model(tmp_path / "nan.onnx")
    model = onnx.load(str(nan))
    bias = next(t for t in model.graph.initializer if t.name == "b")
    bias.CopyFrom(onnx.numpy_helper.from_array(np.full(4, np.nan, np.float32), "b"))
    onnx.save(model, str(nan))
    with pytest.raises(ModelError, match="not numbers"):
        Classifier(nan).predict(arrays)

"""shellgui-train end to end on tiny data: export checks, app loading, resume, catalogue data, DDP, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import SMALL

from shellgui.core.imaging import open_photo
from shellgui.core.inference import Classifier
from shellgui_train.cli import main


@pytest.fixture
def b0_weights(tmp_path: Path) -> Path:
    """A local 'pretrained' weights file (random, seeded): exercises --weights PATH and both stages."""
    import timm

    torch.manual_seed(0)
    path = tmp_path / "b0.pth"
    torch.save(timm.create_model("tf_efficientnetv2_b0", pretrained=False).state_dict(), path)
    return path


@pytest.mark.slow
def test_two_stage_training_exports_a_model_the_app_uses(
    tmp_path: Path, shells: Path, b0_weights: Path, shellgui_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code = main(
        [
            str(shells),
            "--out",
            str(run),
            "--weights",
            str(b0_weights),
            "--head-epochs",
            "1",
            "--epochs",
            "2",
            "--unfreeze",
            "20",
            "--install",
            "--default",
            "--name",
            "fixture-model",
            "--version",
            "1.2.3",
            *SMALL,
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "\r" not in err  # not a terminal: one line per epoch, no progress-bar updates
    for name in (
        "model.onnx",
        "report.md",
        "confusion_test.png",
        "curves.png",
        "calibration.png",
        "class_counts.json",
        "export_check.json",
        "metrics.jsonl",
        "args.json",
        "summary.json",
    ):
        assert (run / name).exists(), name
    check = json.loads((run / "export_check.json").read_text())
    assert check["passed"] and check["max_abs_logit_diff_onnx_vs_torch"] < 1e-3
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [h["stage"] for h in history] == [1, 2, 2]
    report = (run / "report.md").read_text()
    assert "top-1 accuracy" in report and "Alia_unifasciata" in report
    # The int8 twin: calibrated on half the validation photos, checked on the other half, written only
    # when it agrees with the fp32 model, reported either way, and installed with its model.
    int8 = json.loads((run / "summary.json").read_text())["int8"]
    assert int8["calibration_photos"] >= 2 and int8["check_photos"] >= 2
    assert "## The int8 model for CPUs" in report
    assert (run / "model.int8.onnx").exists() == bool(int8["written"])
    models_dir = shellgui_home / "data" / "models"
    assert len(list(models_dir.glob("*.int8.onnx"))) == (1 if int8["written"] else 0)
    installed = [p for p in models_dir.glob("*.onnx") if not p.name.endswith(".int8.onnx")]
    assert len(installed) == 1
    classifier = Classifier(installed[0])
    card = classifier.card
    assert card.labels == ["Alia_unifasciata", "Bistolida_diauges", "Bolinus_brandaris"]
    assert card.preprocessing.input_size == 64 and card.preprocessing.normalize_in_graph
    # A pretrained start carries its library's preprocessing (timm tf_efficientnetv2_b0.in1k).
    assert card.preprocessing.mean == (0.485, 0.456, 0.406) and card.preprocessing.interpolation == "bicubic"
    assert card.preprocessing.resize_size == round(64 / 0.875)
    assert card.provenance["preprocessing_source"] == "timm pretrained_cfg tf_efficientnetv2_b0.in1k"
    from shellgui.core.models import resolve_model
    from shellgui.core.settings import Settings

    assert Settings.load().model == str(installed[0])  # --default
    assert (
        resolve_model("fixture-model 1.2.3") == installed[0]
    )  # the name and version 'shellgui models' lists
    assert card.provenance["training_data_hash"] and card.temperature > 0
    assert set(card.thresholds) == {"species", "genus", "family"}
    prediction = classifier.identify([open_photo(next(shells.glob("*/*.jpg")))])[0]
    assert abs(sum(t.probability for t in prediction.top_k) - 1) < 1e-5


@pytest.mark.slow
def test_resume_after_interruption(
    tmp_path: Path,
    shells: Path,
    monkeypatch: pytest.MonkeyPatch,
    shellgui_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shellgui_train.train import Trainer

    run = tmp_path / "run"
    original = Trainer.run_epoch
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "run_epoch", interrupted)
    first = [str(shells), "--out", str(run), "--weights", "none", "--epochs", "3", "--install"]
    assert main([*first, "--name", "resumed-model", "--version", "7", *SMALL]) == 1
    assert (run / "checkpoint.pt").exists() and not (run / "model.onnx").exists()
    monkeypatch.setattr(Trainer, "run_epoch", original)
    assert main(["--resume", str(run), "--lr", "0.1"]) == 1  # the recipe cannot change
    assert "part of the recipe" in capsys.readouterr().err
    assert main(["--resume", str(run), "--threads", "1"]) == 0
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert (run / "model.onnx").exists()
    installed = sorted((shellgui_home / "data" / "models").glob("*.onnx"))  # --install and --name were kept
    assert [p.name for p in installed if not p.name.endswith(".int8.onnx")] == ["resumed-model-7.onnx"]
    card = Classifier(run / "model.onnx").card
    # From scratch: the hand values, not a library's
    assert card.preprocessing.mean == (0.5, 0.5, 0.5) and card.preprocessing.interpolation == "bilinear"


@pytest.mark.slow
def test_from_catalog_uses_validated_identifications(tmp_path: Path, shells: Path) -> None:
    from shellgui.core.catalog import Catalog
    from shellgui.core.catalog import repository as repo
    from shellgui.core.imaging import file_sha256

    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.session() as s, s.begin():
        for i, path in enumerate(sorted(shells.glob("*/*_A.jpg"))):
            taxon = path.parent.name.replace("_", " ")
            specimen = repo.add_specimen(s)
            for view in (path, path.with_name(path.name.replace("_A.jpg", "_B.jpg"))):
                if i % 2:  # as 'shellgui catalog' does: one specimen per photo, views linked by name only
                    specimen = repo.add_specimen(s)
                photo = open_photo(view)
                repo.add_photo(s, specimen, str(view), file_sha256(view), view.stat().st_size, photo.info)
                if i % 4 != 3:  # one shell per taxon is left unvalidated: it must not be used
                    repo.validate_identification(s, specimen.id, taxon, by="test")
    run = tmp_path / "run"
    code = main(
        [
            "--from-catalog",
            str(tmp_path / "c.sqlite"),
            "--out",
            str(run),
            "--weights",
            "none",
            "--epochs",
            "1",
            *SMALL,
            "--val-fraction",
            "0.34",
            "--test-fraction",
            "0.34",
        ]
    )
    assert code == 0
    counts = json.loads((run / "class_counts.json").read_text())["counts"]
    assert sum(sum(c.values()) for c in counts.values()) == 18
    assert set(counts["train"]) == {"Alia_unifasciata", "Bistolida_diauges", "Bolinus_brandaris"}
    assert json.loads((run / "summary.json").read_text())["specimen_groups"] == 9
    assert "9 specimen groups" in (run / "report.md").read_text()
    split_of = {
        Path(p).stem: k for k, paths in json.loads((run / "splits.json").read_text()).items() for p in paths
    }
    for stem in [s for s in split_of if s.endswith("_A")]:
        assert split_of[stem] == split_of[stem[:-2] + "_B"], stem  # both views in one split


def test_catalogue_photos_are_grouped_by_specimen_and_by_name() -> None:
    from shellgui_train.data import DEFAULT_VIEW_PATTERN, group_views

    photos = [
        ("/d/X_1_A.jpg", 1),
        ("/d/X_1_B.jpg", 2),
        ("/d/X_2_A.jpg", 3),
        ("/e/X_1_A.jpg", 4),
        ("/d/Y.jpg", 3),
    ]
    assert group_views(photos, DEFAULT_VIEW_PATTERN) == [
        "specimen-1",
        "specimen-1",
        "specimen-3",
        "specimen-4",  # another folder: another shell
        "specimen-3",  # the same catalogue specimen
    ]


def test_a_mistyped_catalogue_is_an_error_not_a_new_catalogue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "catalgue.sqlite"
    assert main(["--from-catalog", str(missing), "--out", str(tmp_path / "run"), "--weights", "none"]) == 1
    assert "no such catalogue file" in capsys.readouterr().err
    assert not missing.exists()


def test_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    cases = {
        "empty": "has no photos",
        "single": "only one class",
        "unreadable": "none of the photos could be read",
    }
    (tmp_path / "empty").mkdir()
    (tmp_path / "single" / "Bolinus_brandaris").mkdir(parents=True)
    Image.new("RGB", (40, 40)).save(tmp_path / "single" / "Bolinus_brandaris" / "a.jpg")
    for label in ("A_a", "B_b"):
        (tmp_path / "unreadable" / label).mkdir(parents=True)
        (tmp_path / "unreadable" / label / "x.jpg").write_bytes(b"not a photo")
    for folder, message in cases.items():
        assert (
            main([str(tmp_path / folder), "--out", str(tmp_path / f"run-{folder}"), "--weights", "none"]) == 1
        )
        err = capsys.readouterr().err
        assert err.startswith("shellgui-train: error:") and message in err and "Traceback" not in err
    assert main([]) == 2


def test_imagenet_weights_offline_is_explained(
    tmp_path: Path, shells: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import timm

    def offline(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("pretrained"):
            raise OSError("We couldn't connect to 'https://huggingface.co' (offline)")
        return original(*args, **kwargs)

    original = timm.create_model
    monkeypatch.setattr(timm, "create_model", offline)
    assert main([str(shells), "--out", str(tmp_path / "r"), "--weights", "imagenet", *SMALL]) == 1
    err = capsys.readouterr().err
    assert "--weights PATH" in err and "--weights none" in err and "Traceback" not in err


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(tmp_path: Path, shells: Path) -> None:
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--standalone",  # a free port of its own: parallel runs never collide
            "-m",
            "shellgui_train.cli",
            str(shells),
            "--out",
            str(run),
            "--weights",
            "none",
            "--epochs",
            "2",
            *SMALL,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run / "model.onnx").exists()
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 2


def test_a_tampered_checkpoint_is_refused_not_run(
    tmp_path: Path, shells: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shellgui_train.train import Trainer

    run = tmp_path / "run"
    monkeypatch.setattr(Trainer, "run_epoch", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main([str(shells), "--out", str(run), "--weights", "none", "--epochs", "2", *SMALL]) == 1
    marker = tmp_path / "pwned"
    capsys.readouterr()

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    torch.save({"model": Payload()}, run / "checkpoint.pt")
    assert main(["--resume", str(run)]) == 1
    err = capsys.readouterr().err
    assert not marker.exists()
    assert "not a usable shellgui-train checkpoint" in err and "nothing in it was run" in err
    assert len(err.strip().splitlines()) == 1


def test_without_pytorch_one_line_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    assert main(["photos"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "shellgui-train: error: training needs PyTorch and friends (torch is missing): "
        "pip install 'shellgui[train]'\n"
    )


def test_the_package_is_shellgui_train_and_the_old_name_is_gone() -> None:
    import importlib.metadata
    import importlib.util

    import shellgui_train.cli

    assert shellgui_train.cli.main is main
    scripts = importlib.metadata.entry_points(group="console_scripts")
    assert scripts["shellgui-train"].value == "shellgui_train.cli:main"
    old = importlib.util.find_spec("trainer")  # at most this test folder (a namespace), never a package
    assert old is None or old.origin is None


def test_hflip_adds_a_flip_to_the_rotation() -> None:
    from torchvision import transforms as T

    from shellgui_train.transforms import train_transform

    def kinds(hflip: bool) -> set[type]:
        return {type(op) for op in train_transform(64, 5, hflip, "none", 0.0).transforms}  # type: ignore[attr-defined]

    assert T.RandomRotation in kinds(False) and T.RandomHorizontalFlip not in kinds(False)
    assert {T.RandomRotation, T.RandomHorizontalFlip} <= kinds(True)


def test_every_option_has_help() -> None:
    from shellgui_train.cli import build_parser

    assert [a.dest for a in build_parser()._actions if not a.help] == []


def test_progressive_learning_by_default_only_from_scratch() -> None:
    from shellgui_train.train import TrainConfig

    assert TrainConfig(weights="none").uses_progressive
    assert not TrainConfig(weights="imagenet").uses_progressive
    assert not TrainConfig(weights="none", progressive=False).uses_progressive
    assert TrainConfig(weights="imagenet", progressive=True).uses_progressive


def test_lighter_regularisation_by_default_only_from_scratch_on_a_larger_set() -> None:
    from shellgui_train.cli import SMALL_SET_PHOTOS, build_parser, config_from_args

    def config(*argv: str, photos: int = SMALL_SET_PHOTOS):  # type: ignore[no-untyped-def]
        return config_from_args(build_parser().parse_args(["photos", *argv]), photos)

    def values(c):  # type: ignore[no-untyped-def]
        return (c.dropout, c.drop_path, c.weight_decay)

    assert values(config("--weights", "none")) == (0.1, 0.05, 0.02)
    assert values(config("--weights", "none", photos=SMALL_SET_PHOTOS - 1)) == (0.3, 0.2, 0.05)
    assert values(config("--weights", "imagenet")) == (0.3, 0.2, 0.05)
    given = config("--weights", "none", "--dropout", "0.4", "--weight-decay", "0")
    assert values(given) == (0.4, 0.05, 0.0)

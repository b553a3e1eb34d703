"""Knowledge distillation (``--teacher``): the loss, its wiring into training, and the run end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from test_openset_export import TINY, _photos

from shellgui.core.inference import Classifier
from shellgui_train.cli import main
from shellgui_train.distill import distillation_loss


def test_distillation_loss_is_zero_when_the_answers_agree_and_scaled_by_t_squared() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]])
    assert distillation_loss(logits, logits.clone(), 2.0).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.tensor([[0.0, 2.0, -1.0], [1.5, 0.5, 0.0]])
    at_1 = distillation_loss(logits, other, 1.0).item()
    assert at_1 > 0
    # T^2 keeps the size of the gradients: the scaled loss at T=4 is of the same order as at T=1
    assert 0.05 * at_1 < distillation_loss(logits, other, 4.0).item() < 20 * at_1


def test_a_student_learns_from_a_teacher_of_the_same_taxa(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shellgui_train.train as train_module

    data = _photos(tmp_path / "photos")
    assert main([str(data), "--out", str(tmp_path / "teacher"), "--no-int8", *TINY]) == 0
    teacher = tmp_path / "teacher" / "model.onnx"

    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = train_module.distillation_loss

    def recording(student: torch.Tensor, taught: torch.Tensor, t: float) -> torch.Tensor:
        seen.append((student.detach(), taught))
        return original(student, taught, t)

    monkeypatch.setattr(train_module, "distillation_loss", recording)
    run = tmp_path / "student"
    args = [str(data), "--out", str(run), "--teacher", str(teacher), "--distill-weight", "0.5", "--no-int8"]
    assert main([*args, *TINY]) == 0
    assert seen  # every training batch is also taught
    student, taught = seen[0]
    assert taught.shape == student.shape and torch.isfinite(taught).all()
    # the teacher's answers are its own: what the exported teacher says for those batches
    assert not torch.allclose(taught, student)
    card = Classifier(run / "model.onnx").card
    assert card.provenance["teacher"].startswith("teacher ")  # the teacher's name, version, architecture
    summary = json.loads((run / "summary.json").read_text())
    assert summary["teacher"] == card.provenance["teacher"]
    assert "also learned from the answers of the teacher" in (run / "report.md").read_text()


def test_a_teacher_of_other_taxa_or_no_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _photos(tmp_path / "photos")
    three = tmp_path / "three"
    shutil.copytree(data, three)
    shutil.rmtree(three / "Dd_gold")
    assert main([str(three), "--out", str(tmp_path / "t3"), "--no-int8", *TINY]) == 0
    capsys.readouterr()
    teacher = tmp_path / "t3" / "model.onnx"
    assert main([str(data), "--out", str(tmp_path / "s"), "--teacher", str(teacher), *TINY]) == 1
    err = capsys.readouterr().err.strip()
    assert "knows other taxa than this run" in err and len(err.splitlines()) == 1
    assert main([str(data), "--teacher", str(tmp_path / "nope.onnx"), *TINY]) == 1
    assert "model file not found" in capsys.readouterr().err
    assert main([str(data), "--teacher", str(teacher), "--distill-weight", "2", *TINY]) == 1
    assert "--distill-weight" in capsys.readouterr().err

"""Knowledge distillation from a teacher model: ``shellgui-train --teacher MODEL.onnx``.

The teacher is an exported shellgui model (its normalisation is in its graph, so it takes the same
``[0, 1]`` RGB batch as the student before normalisation) that knows the same taxa in the same order,
typically an ImageNet-pretrained one fine-tuned on the same photos with the same seed (so on the same
training split: the test photos stay unseen by both). On every augmented batch the student learns from
the teacher's softened answer as well as from the label (Hinton et al. 2015; Beyer et al., CVPR 2022:
the teacher sees the very same augmented view). The student keeps its own architecture: this is how an
EfficientNetV2 trained from scratch on a hundred photos borrows what an ImageNet network knows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from shellgui.core.errors import ModelError, ShellguiError
from shellgui.core.inference import Classifier

DEFAULT_WEIGHT = 0.7
DEFAULT_TEMPERATURE = 2.0


class TeacherError(ShellguiError):
    """The teacher model cannot teach this run (unreadable, other taxa)."""


class Teacher:
    """An exported shellgui model run by ONNX Runtime on the student's augmented batches."""

    def __init__(self, path: Path, labels: list[str], device: str = "cpu") -> None:
        try:
            provider = "cuda" if device.startswith("cuda") else "cpu"
            self.classifier = Classifier(path, provider=provider, threads=torch.get_num_threads())
        except ModelError as exc:
            raise TeacherError(f"--teacher {path}: {exc}") from None
        known = self.classifier.card.labels
        if known != labels:
            raise TeacherError(
                f"--teacher {path} knows other taxa than this run ({len(known)} vs {len(labels)}, or in "
                "another order): train the teacher on the same folders"
            )
        self.input_size = self.classifier.card.preprocessing.input_size
        card = self.classifier.card
        self.description = f"{card.name} {card.version} ({card.provenance.get('architecture', '?')})"

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """The teacher's logits for a ``[0, 1]`` RGB batch (resized to the teacher's input size)."""
        if images.shape[-1] != self.input_size or images.shape[-2] != self.input_size:
            images = F.interpolate(
                images.float(), size=(self.input_size, self.input_size), mode="bilinear", antialias=True
            )
        out = self.classifier.logits(np.ascontiguousarray(images.float().cpu().numpy()))
        return torch.from_numpy(out).to(images.device)


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE
) -> torch.Tensor:
    """KL(teacher || student) on temperature-softened answers, scaled by T² so that its gradients keep
    the size of the label loss's whatever the temperature (Hinton et al. 2015)."""
    t = temperature
    student = F.log_softmax(student_logits.float() / t, dim=1)
    teacher = F.log_softmax(teacher_logits.float() / t, dim=1)
    return F.kl_div(student, teacher, log_target=True, reduction="batchmean") * t * t

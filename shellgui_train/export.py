"""Export to a self-describing ONNX model, then prove it predicts what the trained network predicts.

The run fails unless (1) the ONNX checker passes, (2) ONNX Runtime's logits match PyTorch's on real
validation photos, and (3) the app's own preprocessing of those photos matches the trainer's evaluation
transform closely enough that both give the same answers.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from shellgui.core.atomic import atomic_path
from shellgui.core.modelcard import METADATA_KEY, ModelCard
from shellgui_train.architectures import DataConfig
from shellgui_train.data import Sample
from shellgui_train.transforms import eval_transform

LOGIT_ATOL = 2e-3
PIXEL_MEAN_TOL = 0.01
EMBEDDING_ATOL = 1e-3  # unit vectors: a cosine distance error of the same order


class ExportError(Exception):
    """The exported model failed a check; the model is not installed."""


def export_onnx(
    wrapped: nn.Module, card: ModelCard, out: Path, metadata: dict[str, str] | None = None
) -> Path:
    """Write the ONNX file with a dynamic batch axis, the card and any ``metadata`` (the reference bank)."""
    size = card.preprocessing.input_size
    wrapped = wrapped.eval().to("cpu", memory_format=torch.contiguous_format)
    example = torch.rand(1, 3, size, size)
    # The TorchScript exporter: deterministic, fast, and proven against ONNX Runtime by verify_export below.
    # (torch.export-based export is the default since torch 2.9; revisit when it handles timm as fast.)
    with atomic_path(out, suffix=".onnx") as tmp:
        _write_onnx(wrapped, example, card, tmp, metadata or {})
    return out


def _write_onnx(
    wrapped: nn.Module, example: torch.Tensor, card: ModelCard, tmp: Path, metadata: dict[str, str]
) -> None:
    import onnx

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*legacy TorchScript.*")
        torch.onnx.export(
            wrapped,
            (example,),
            str(tmp),
            input_names=["input"],
            output_names=["logits", "embedding"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    model = onnx.load(str(tmp))
    onnx.helper.set_model_props(model, {METADATA_KEY: card.to_json(), **metadata})
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the ONNX checker rejected the export: {exc}") from None
    onnx.save(model, str(tmp))


def verify_export(
    onnx_path: Path, wrapped: nn.Module, samples: list[Sample], size: int, data: DataConfig
) -> dict[str, Any]:
    """Compare ONNX Runtime with PyTorch, and the app's preprocessing with the trainer's, on real photos."""
    from shellgui.core.imaging import open_photo
    from shellgui.core.inference import Classifier

    if not samples:
        raise ExportError("no validation photos to verify the export against")
    classifier = Classifier(onnx_path, provider="cpu")
    transform = eval_transform(size, data)
    trainer_inputs = torch.stack([transform(open_photo(s.path).image) for s in samples])
    app_inputs = np.stack(
        [classifier.prepare(open_photo(s.path, min_side=classifier.min_decode_side)) for s in samples]
    )
    with torch.no_grad():
        torch_out = wrapped.eval().cpu()(trainer_inputs)
    torch_logits, torch_embedding = (t.numpy() for t in torch_out)
    ort_logits, ort_embedding = classifier.session.run(
        ["logits", "embedding"], {classifier.input_name: trainer_inputs.numpy()}
    )
    app_logits = classifier.logits(app_inputs)
    logit_diff = float(np.abs(torch_logits - ort_logits).max())
    embedding_diff = float(np.abs(torch_embedding - ort_embedding).max())
    scale = max(1.0, float(np.abs(torch_logits).max()))
    pixel_diff = float(np.abs(app_inputs - trainer_inputs.numpy()).mean())
    sorted_logits = np.sort(torch_logits, axis=1)
    clear = (sorted_logits[:, -1] - sorted_logits[:, -2]) > 0.1  # ties may flip on tiny pixel changes
    agree = float((app_logits.argmax(1) == torch_logits.argmax(1))[clear].mean()) if clear.any() else 1.0
    report = {
        "photos": len(samples),
        "max_abs_logit_diff_onnx_vs_torch": logit_diff,
        "logit_tolerance": LOGIT_ATOL * scale,
        "max_abs_embedding_diff_onnx_vs_torch": embedding_diff,
        "embedding_tolerance": EMBEDDING_ATOL,
        "mean_abs_pixel_diff_app_vs_trainer": pixel_diff,
        "pixel_tolerance": PIXEL_MEAN_TOL,
        "top1_agreement_app_vs_trainer": agree,
        "provider": classifier.device,
    }
    problems = []
    if logit_diff > LOGIT_ATOL * scale:
        problems.append(f"ONNX Runtime logits differ from PyTorch by {logit_diff:.2g}")
    if embedding_diff > EMBEDDING_ATOL:
        problems.append(f"ONNX Runtime embeddings differ from PyTorch by {embedding_diff:.2g}")
    if pixel_diff > PIXEL_MEAN_TOL:
        problems.append(f"the app's preprocessing differs from the trainer's by {pixel_diff:.3f} per pixel")
    if agree < 1.0:
        problems.append(f"the app's preprocessing changes the top-1 answer on {1 - agree:.0%} of photos")
    report["passed"] = not problems
    (onnx_path.parent / "export_check.json").write_text(json.dumps(report, indent=2))
    if problems:
        raise ExportError("export verification failed: " + "; ".join(problems))
    return report

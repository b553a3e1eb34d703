"""Installed models: the bundled default (``resources/models``) and those the user installed."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shellgui.core import paths
from shellgui.core.atomic import atomic_path
from shellgui.core.errors import ModelError
from shellgui.core.modelcard import METADATA_KEY, ModelCard
from shellgui.core.percent import percent
from shellgui.core.text import one_line

DEFAULT_MODEL_FILE = "default.onnx"


@dataclass(frozen=True)
class InstalledModel:
    """A model file found on this machine, with its card when it could be read."""

    path: Path
    bundled: bool
    card: ModelCard | None
    problem: str = ""

    @property
    def label(self) -> str:
        if self.card is None:
            return f"{self.path.name} (unusable: {self.problem})"
        origin = "bundled default" if self.bundled else "installed"
        return f"{self.card.name} {self.card.version} ({origin})"


def open_set_words(card: ModelCard) -> str:
    """One line for the card viewer and ``shellgui models``: can this model say "I don't know this"?"""
    if card.embedding_size is None:
        return (
            "no embedding output: this model cannot tell a photo unlike anything it learned from, "
            "nor find similar specimens (retrain with shellgui-train)"
        )
    if card.open_set is None:
        return (
            f"{card.embedding_size}-value embedding (similar specimens), but no open-set threshold: "
            "it cannot say 'not something this model knows'"
        )
    params = card.open_set
    photos = params.get("bank_photos") or params.get("bank_size") or "its"
    retention = params.get("retention")
    kept = f", keeping {float(retention):.0%} of known photos" if retention else ""
    source = f" ({params['embedding']})" if params.get("embedding") else ""
    return (
        f"open set: k-NN (k={params['k']}) on the embeddings{source} of {photos} training photos; "
        f"cosine distance above {float(params['threshold']):.3g} is 'not something this model knows'{kept}"
    )


def measured_words(card: ModelCard) -> str:
    """What the model's training run measured on photos it never learned from, in one line for a
    first-time user ('' when the card records nothing)."""
    m, parts = card.metrics, []
    if "test_top1" in m and "test_photos" in m:
        tested = int(m["test_photos"])
        parts.append(f"first answer right for {percent(m['test_top1'])} of {tested} held-out test photos")
    if "far_ood_answered_any_taxon" in m:
        what = card.provenance.get("outliers") or "outlier"
        photos = f"{int(m['far_ood_photos'])} " if "far_ood_photos" in m else ""
        parts.append(f"named a taxon for {percent(m['far_ood_answered_any_taxon'])} of {photos}{what} photos")
    if "near_ood_answered_species" in m:
        parts.append(
            f"named a species for {percent(m['near_ood_answered_species'])} of photos of held-out taxa"
        )
    return ("Tested: " + "; ".join(parts) + ".") if parts else ""


def bundled_model_path() -> Path:
    """The default model shipped with shellgui."""
    return paths.resources_dir() / "models" / DEFAULT_MODEL_FILE


def read_card_from_file(path: Path) -> ModelCard:
    """Read a model's card without starting an inference session on a GPU.

    Cached by path, size and modification time, so listing models (the Models menu opens on every
    click) does not reload every ONNX file each time.
    """
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    stat = path.stat()
    return _read_card_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _read_card_cached(path_text: str, _size: int, _mtime_ns: int) -> ModelCard:
    import onnxruntime as ort

    from shellgui.core.inference.classifier import read_card

    path = Path(path_text)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{path}: not a usable ONNX model ({first})") from None
    if METADATA_KEY not in session.get_modelmeta().custom_metadata_map:
        raise ModelError(f"{path}: this ONNX file has no shellgui model card")
    return read_card(session, str(path))


INT8_SUFFIX = ".int8.onnx"


def int8_twin_path(model: Path) -> Path:
    """Where the int8 twin of ``model`` lives: ``<name>.int8.onnx`` beside it."""
    name = model.name[: -len(".onnx")] if model.name.endswith(".onnx") else model.name
    return model.with_name(name + INT8_SUFFIX)


def int8_twin(model: Path) -> Path | None:
    """The int8 twin of ``model`` written by ``shellgui-train quantize``, or ``None``."""
    if model.name.endswith(INT8_SUFFIX):
        return None
    twin = int8_twin_path(model)
    return twin if twin.is_file() else None


def installed_models() -> list[InstalledModel]:
    """All models, the bundled default first, then the user's models by name."""
    found: list[InstalledModel] = []
    candidates = [(bundled_model_path(), True)]
    user_dir = paths.models_dir()
    if user_dir.is_dir():
        # an int8 twin belongs to its fp32 model and is not listed on its own
        candidates += [
            (p, False) for p in sorted(user_dir.glob("*.onnx")) if not p.name.endswith(INT8_SUFFIX)
        ]
    for path, bundled in candidates:
        if not path.exists():
            continue
        try:
            found.append(InstalledModel(path, bundled, read_card_from_file(path)))
        except ModelError as exc:
            found.append(InstalledModel(path, bundled, None, one_line(str(exc).split(": ", 1)[-1])))
        except Exception as exc:  # one bad file never hides the others (or the bundled model)
            problem = f"cannot be read ({type(exc).__name__}: {one_line(exc)[:120]})"
            found.append(InstalledModel(path, bundled, None, problem))
    return found


def resolve_model(choice: str | None) -> Path:
    """The model to use; the bundled default when ``choice`` is empty.

    Args:
        choice: a path, a file name in the models folder (``.onnx`` may be left out), or the name and
            version ``shellgui models`` lists (``"shellgui-zhang8 1.1"``; the name alone when only one
            version is installed).
    """
    if choice:
        path = Path(choice).expanduser()
        if path.exists():
            return path
        user = paths.models_dir() / choice
        for candidate in (user, user.parent / f"{user.name}.onnx"):  # not with_suffix: "model-1.1"
            if candidate.is_file():
                return candidate
        return _model_by_card(choice)
    default = bundled_model_path()
    if not default.exists():
        raise ModelError(
            f"the bundled default model is missing ({default}); reinstall shellgui or pass --model"
        )
    return default


def _model_by_card(choice: str) -> Path:
    """The installed model whose card has this name and version (or this name, when it is unique)."""
    wanted = " ".join(choice.split())
    models = [m for m in installed_models() if m.card is not None]
    exact = [m for m in models if m.card and f"{m.card.name} {m.card.version}" == wanted]
    named = [m for m in models if m.card and m.card.name == wanted]
    if exact or len(named) == 1:
        return (exact or named)[0].path
    if named:
        versions = ", ".join(m.card.version for m in named if m.card)
        raise ModelError(f"{choice}: several versions are installed ({versions}); add the version")
    raise ModelError(
        f"{choice}: model file not found, nor an installed model by that name (see 'shellgui models')"
    )


def install_model(source: Path, name: str | None = None) -> Path:
    """Copy a checked model into the user's models folder, where ``shellgui models`` finds it."""
    card = read_card_from_file(source)
    target_dir = paths.models_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in (name or f"{card.name}-{card.version}"))
    target = target_dir / f"{safe}.onnx"
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    twin = int8_twin(source)
    if twin is not None:  # the int8 twin travels with its model
        with atomic_path(int8_twin_path(target)) as tmp:
            shutil.copyfile(twin, tmp)
    return target

"""The reference bank: embeddings of a model's training photos, stored inside the ONNX file.

The trainer writes it under ``metadata_props[BANK_KEY]`` as JSON::

    {"format": 1, "dtype": "float16", "shape": [M, D], "labels": [class index per row],
     "data": "<base64 of the little-endian array bytes, row-major>"}

This module is the one implementation of that encoding; the trainer imports it. The app reads the
bank with ONNX Runtime (``session.get_modelmeta().custom_metadata_map``), never with ``onnx``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from shellgui.core.errors import ModelError

BANK_KEY = "shellgui.bank"
BANK_FORMAT = 1
BANK_DTYPES = ("float16", "float32")


@dataclass(frozen=True)
class Bank:
    """Reference embeddings and the class index of each row.

    Attributes:
        embeddings: ``(M, D)`` float32, each row L2-normalised.
        labels: ``(M,)`` int64 class indices into the model card's taxa.
        dtype: how the rows were stored in the file (``"float16"`` or ``"float32"``).
    """

    embeddings: np.ndarray
    labels: np.ndarray
    dtype: str = "float16"

    @property
    def size(self) -> int:
        """Number of rows (photos, or prototypes when the trainer compressed the bank)."""
        return int(self.embeddings.shape[0])

    @property
    def dim(self) -> int:
        """Embedding size ``D``."""
        return int(self.embeddings.shape[1])

    @property
    def stored_bytes(self) -> int:
        """Bytes of the array as stored in the model file, before base64."""
        return self.size * self.dim * np.dtype(self.dtype).itemsize


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); zero rows stay zero."""
    arr = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    return arr / np.maximum(norms, 1e-12)


def encode_bank(embeddings: np.ndarray, labels: Any, dtype: str = "float16") -> str:
    """The JSON text stored under :data:`BANK_KEY` for these rows.

    Args:
        embeddings: ``(M, D)`` reference embeddings; normalised again here (the bank holds unit rows).
        labels: ``M`` class indices (non-negative integers).
        dtype: ``"float16"`` (half the size, default) or ``"float32"``.

    Raises:
        ValueError: wrong shapes, non-finite values, negative labels or an unknown dtype.
    """
    if dtype not in BANK_DTYPES:
        raise ValueError(f"bank dtype {dtype!r} is not one of {BANK_DTYPES}")
    arr = np.asarray(embeddings, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"bank embeddings must be a non-empty (M, D) array, not shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("bank embeddings contain NaN or infinity")
    lab = np.asarray(labels)
    if lab.shape != (arr.shape[0],) or (lab.size and not np.issubdtype(lab.dtype, np.integer)):
        raise ValueError(f"bank labels must be {arr.shape[0]} integers, not shape {lab.shape} {lab.dtype}")
    if lab.min() < 0:
        raise ValueError("bank labels must be non-negative class indices")
    stored = l2_normalise(arr).astype(np.dtype(dtype).newbyteorder("<"))
    payload = {
        "format": BANK_FORMAT,
        "dtype": dtype,
        "shape": [int(arr.shape[0]), int(arr.shape[1])],
        "labels": [int(v) for v in lab],
        "data": base64.b64encode(stored.tobytes(order="C")).decode("ascii"),
    }
    return json.dumps(payload, separators=(",", ":"))


def decode_bank(text: str, num_classes: int | None = None, dim: int | None = None) -> Bank:
    """Parse the bank stored in a model file.

    Args:
        text: the JSON text under :data:`BANK_KEY`.
        num_classes: when given, every label must be below it (the card's label count).
        dim: when given, the rows must have this size (the card's ``embedding_size``).

    Raises:
        ModelError: with a one-line reason when the bank is unreadable or disagrees with the model.
    """
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"the reference bank is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ModelError("the reference bank is not a JSON object")
    fmt = raw.get("format")
    if not isinstance(fmt, int) or fmt > BANK_FORMAT:
        raise ModelError(f"the reference bank has format {fmt!r}; this shellgui reads format {BANK_FORMAT}")
    dtype = raw.get("dtype")
    if dtype not in BANK_DTYPES:
        raise ModelError(f"the reference bank's dtype {dtype!r} is not one of {BANK_DTYPES}")
    shape = raw.get("shape")
    if not isinstance(shape, list) or len(shape) != 2 or not all(isinstance(v, int) and v > 0 for v in shape):
        raise ModelError(f"the reference bank's shape {shape!r} is not [rows, size]")
    rows, size = shape
    try:
        data = base64.b64decode(str(raw.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ModelError("the reference bank's data is not base64") from None
    itemsize = np.dtype(dtype).itemsize
    if len(data) != rows * size * itemsize:
        need = rows * size * itemsize
        raise ModelError(f"the reference bank holds {len(data)} bytes; {rows}x{size} {dtype} needs {need}")
    labels_raw = raw.get("labels")
    if not isinstance(labels_raw, list) or len(labels_raw) != rows:
        raise ModelError(f"the reference bank needs one label per row ({rows})")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in labels_raw):
        raise ModelError("the reference bank's labels must be non-negative class indices")
    labels = np.asarray(labels_raw, dtype=np.int64)
    if num_classes is not None and int(labels.max()) >= num_classes:
        raise ModelError(
            f"the reference bank names class {int(labels.max())}, but the model has {num_classes} classes"
        )
    if dim is not None and size != dim:
        raise ModelError(f"the reference bank's rows have size {size}, but the model's embedding has {dim}")
    array = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(rows, size)
    embeddings = array.astype(np.float32)
    if not np.isfinite(embeddings).all():
        raise ModelError("the reference bank contains NaN or infinity")
    return Bank(embeddings=l2_normalise(embeddings), labels=labels, dtype=str(dtype))

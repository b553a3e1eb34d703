"""Turn photos into the model's input tensor exactly as the model card says (the trainer's eval transform)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from shellgui.core.modelcard import Preprocessing

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}


#: The resized image's longer side is at most this many times its shorter side (``resize_size``).
MAX_RESIZED_ASPECT = 4


def resize_and_crop(image: Image.Image, pre: Preprocessing) -> Image.Image:
    """Resize the shorter side to ``resize_size``, then centre-crop ``input_size`` (as torchvision does).

    The output of the resize is bounded whatever the input's shape: only the centre of a long strip
    can reach the crop, so a photo longer than :data:`MAX_RESIZED_ASPECT`:1 is first cut to its centre
    (a 16 x 5,000,000 image would otherwise ask for 20 G pixels). Ordinary photos are not affected.
    """
    width, height = image.size
    short = min(width, height)
    if max(width, height) > MAX_RESIZED_ASPECT * short:
        keep = MAX_RESIZED_ASPECT * short
        if width > height:
            image = image.crop(((width - keep) // 2, 0, (width - keep) // 2 + keep, height))
        else:
            image = image.crop((0, (height - keep) // 2, width, (height - keep) // 2 + keep))
        width, height = image.size
    short = min(width, height)
    scale = pre.resize_size / short
    new_w = pre.resize_size if width == short else int(pre.resize_size * width / height)
    new_h = pre.resize_size if height == short else int(pre.resize_size * height / width)
    if scale != 1.0:
        image = image.resize((new_w, new_h), _RESAMPLE[pre.interpolation])
    size = pre.input_size
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def to_tensor(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """One RGB image (already cropped) as a float32 CHW array, normalised unless the graph normalises."""
    arr: np.ndarray = np.asarray(image, dtype=np.float32) * np.float32(1.0 / 255.0)
    if not pre.normalize_in_graph:
        arr = (arr - np.asarray(pre.mean, dtype=np.float32)) / np.asarray(pre.std, dtype=np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def preprocess(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """A decoded RGB photo to the CHW float32 array the model expects."""
    return to_tensor(resize_and_crop(image, pre), pre)

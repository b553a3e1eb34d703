"""The part of a photo that is identified: a crop box, checked, applied, and identified.

A :class:`Crop` is given in pixels of the *upright* photo at full resolution (after EXIF orientation), the
way :attr:`shellgui.core.imaging.PhotoInfo` describes its size, whatever size the pixels were decoded at.
It is stored with the photo in the catalogue (``Photo.crop``); ``None`` means the whole photo.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shellgui.core.errors import UsageError
from shellgui.core.imaging import MIN_SIDE, Photo, open_photo

#: The smallest crop side, in pixels of the full photo: below it nothing can be identified.
MIN_CROP_SIDE = MIN_SIDE
#: The keys of a crop stored as JSON (``Photo.crop``).
CROP_KEYS = ("x", "y", "width", "height")


class CropError(UsageError):
    """A crop box that cannot be used (outside the photo, too small, not numbers)."""


@dataclass(frozen=True)
class Crop:
    """A box in pixels of the upright full-resolution photo: left ``x``, top ``y``, ``width``, ``height``."""

    x: int
    y: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)``, as Pillow's ``Image.crop`` takes it."""
        return self.x, self.y, self.x + self.width, self.y + self.height

    @property
    def area(self) -> int:
        return self.width * self.height

    def as_json(self) -> dict[str, int]:
        """The form stored in the catalogue."""
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    def describe(self) -> str:
        return f"{self.width}x{self.height} at ({self.x}, {self.y})"

    def iou(self, other: Crop) -> float:
        """Intersection over union of two boxes (1.0: the same box)."""
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.width, other.x + other.width)
        bottom = min(self.y + self.height, other.y + other.height)
        inter = max(0, right - left) * max(0, bottom - top)
        union = self.area + other.area - inter
        return inter / union if union else 0.0


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CropError(f"the crop's {name} must be a number, not {value!r}"[:200])
    if not math.isfinite(value):
        raise CropError(f"the crop's {name} must be a finite number, not {value}")
    return float(value)


def checked_crop(
    x: float, y: float, width: float, height: float, photo_width: int, photo_height: int
) -> Crop | None:
    """A box dragged or typed by a person, as a valid :class:`Crop` of a photo of this size.

    Negative sizes (a box dragged up or left) are turned round, the box is rounded to whole pixels and
    clipped to the photo. A box that covers the whole photo is ``None`` (no crop).

    Raises:
        CropError: not finite numbers, a box that misses the photo, or one smaller than
            :data:`MIN_CROP_SIDE` pixels on a side once clipped.
    """
    values = [_number(v, n) for v, n in zip((x, y, width, height), CROP_KEYS)]
    x, y, width, height = values
    if photo_width < 1 or photo_height < 1:
        raise CropError(f"a photo of {photo_width}x{photo_height} pixels cannot be cropped")
    if width < 0:
        x, width = x + width, -width
    if height < 0:
        y, height = y + height, -height
    left, top = max(0, math.floor(x)), max(0, math.floor(y))
    right, bottom = min(photo_width, math.ceil(x + width)), min(photo_height, math.ceil(y + height))
    if right <= left or bottom <= top:
        raise CropError(f"the crop box is outside the {photo_width}x{photo_height} photo")
    if min(right - left, bottom - top) < MIN_CROP_SIDE:
        raise CropError(
            f"the crop box is {right - left}x{bottom - top} pixels: at least {MIN_CROP_SIDE} pixels "
            "on each side are needed to identify anything"
        )
    if (left, top, right, bottom) == (0, 0, photo_width, photo_height):
        return None
    return Crop(left, top, right - left, bottom - top)


def crop_from_json(value: Any, photo_width: int, photo_height: int) -> Crop | None:
    """A crop stored in the catalogue (or given on the command line), checked against the photo's size.

    Raises:
        CropError: not a mapping of ``x``, ``y``, ``width``, ``height``, or not a usable box.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != set(CROP_KEYS):
        raise CropError(f"a crop is {{x, y, width, height}} in pixels, not {value!r}"[:200])
    x, y, width, height = (value[k] for k in CROP_KEYS)
    return checked_crop(x, y, width, height, photo_width, photo_height)


def parse_crop(text: str) -> tuple[float, float, float, float]:
    """``"X,Y,WIDTH,HEIGHT"`` (pixels of the upright photo), as typed on the command line.

    Raises:
        CropError: not four numbers separated by commas.
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        x, y, width, height = (float(p) for p in parts)
    except ValueError:
        raise CropError(f"a crop is X,Y,WIDTH,HEIGHT in pixels (e.g. 120,80,600,400), not {text!r}") from None
    return x, y, width, height


def decode_side_for(
    crop: Crop | None, photo_width: int, photo_height: int, min_side: int | None
) -> int | None:
    """The ``min_side`` to decode a photo with so that its *crop* still has ``min_side`` pixels on its
    shorter side (a JPEG is otherwise draft-decoded for the whole photo, and a small crop of it would
    be upscaled from a few pixels). ``None``: decode at full resolution."""
    if crop is None or min_side is None:
        return min_side
    scale = min_side / min(crop.width, crop.height)
    if scale >= 1:
        return None
    return math.ceil(min(photo_width, photo_height) * scale)


def crop_photo(photo: Photo, crop: Crop | None) -> Photo:
    """The photo with only the crop's pixels (and ``crop`` set), whatever size it was decoded at.

    The file's facts (path, hashes, full size) stay those of the whole photo: that is what is catalogued.
    """
    if crop is None:
        return dataclasses.replace(photo, crop=None) if photo.crop is not None else photo
    if photo.crop is not None:
        raise CropError(f"{os.path.basename(photo.path)} is already cropped")
    full_w, full_h = photo.info.width, photo.info.height
    if crop.x + crop.width > full_w or crop.y + crop.height > full_h:
        raise CropError(f"the crop {crop.describe()} is outside the {full_w}x{full_h} photo")
    sx, sy = photo.image.width / full_w, photo.image.height / full_h
    box = (
        math.floor(crop.x * sx),
        math.floor(crop.y * sy),
        max(math.floor(crop.x * sx) + 1, math.ceil((crop.x + crop.width) * sx)),
        max(math.floor(crop.y * sy) + 1, math.ceil((crop.y + crop.height) * sy)),
    )
    return dataclasses.replace(photo, image=photo.image.crop(box), crop=crop)


def open_cropped(
    path: str | os.PathLike[str],
    crop: Crop | None,
    min_side: int | None = None,
    size: tuple[int, int] | None = None,
) -> Photo:
    """Open a photo and keep only its crop, checked against the photo's size.

    Args:
        crop: the box, or ``None`` for the whole photo.
        min_side: the model's decode side (see :func:`shellgui.core.imaging.open_photo`).
        size: the photo's upright full size when already known (from an earlier open): the photo is then
            decoded once, at just enough resolution for the crop (see :func:`decode_side_for`); otherwise
            at full resolution.

    Raises:
        PhotoError: the file is not a usable photo.
        CropError: the crop does not fit the photo.
    """
    if crop is None:
        return open_photo(path, min_side=min_side)
    side = decode_side_for(crop, *size, min_side) if size is not None else None
    photo = open_photo(path, min_side=side)
    width, height = photo.info.width, photo.info.height
    return crop_photo(photo, checked_crop(crop.x, crop.y, crop.width, crop.height, width, height))

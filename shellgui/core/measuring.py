"""Measuring a specimen on its photo: calibrate with two points of a known distance (a ruler in the photo),
then measure a segment across the shell in millimetres.

Points are ``(x, y)`` in pixels of the upright full-resolution photo, the coordinates the catalogue stores
(like a crop), so a measurement can be redrawn and checked later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shellgui.core.errors import UsageError

#: A calibration line shorter than this many pixels is too imprecise to measure with.
MIN_CALIBRATION_PIXELS = 10.0
#: The longest known distance accepted (mm): a 10 m ruler is a typing error.
MAX_CALIBRATION_MM = 10_000.0
SHELL_LENGTH = "shell length"

Point = tuple[float, float]


def _distance(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


@dataclass(frozen=True)
class Calibration:
    """How many millimetres one photo pixel spans, from a line of known length.

    Build it with :meth:`between`, which checks the input.
    """

    a: Point
    b: Point
    mm: float

    @classmethod
    def between(cls, a: Point, b: Point, mm: float) -> Calibration:
        """The calibration from two points ``mm`` millimetres apart.

        Raises:
            UsageError: the points are too close together, or the distance is not a sensible number of mm.
        """
        if not (math.isfinite(mm) and 0 < mm <= MAX_CALIBRATION_MM):
            raise UsageError(f"the known distance must be above 0 and at most {MAX_CALIBRATION_MM:g} mm")
        if not _distance(a, b) >= MIN_CALIBRATION_PIXELS:
            raise UsageError(
                f"the calibration points are {_distance(a, b):.0f} pixels apart; draw a line of at least "
                f"{MIN_CALIBRATION_PIXELS:.0f} pixels along the ruler (zoom in for precision)"
            )
        return cls(a, b, float(mm))

    @property
    def mm_per_pixel(self) -> float:
        return self.mm / _distance(self.a, self.b)

    def length_mm(self, a: Point, b: Point) -> float:
        """The length of the segment ``a``-``b`` in millimetres."""
        return _distance(a, b) * self.mm_per_pixel

    def method(self, a: Point, b: Point) -> dict[str, Any]:
        """How a measurement was taken, for the catalogue (and DwC ``measurementMethod``)."""
        return {
            "points": [list(a), list(b)],
            "calibration": {"points": [list(self.a), list(self.b)], "mm": self.mm},
            "mm_per_pixel": self.mm_per_pixel,
        }


def describe_method(method: dict[str, Any] | None) -> str:
    """One line for ``measurementMethod``: how the length was measured (as imported, or on the photo)."""
    if method and method.get("description"):
        return str(method["description"])
    if not method or "calibration" not in method:
        return ""
    mm = method["calibration"].get("mm")
    return f"on the photo, calibrated on a {mm:g} mm distance of a ruler in the photo" if mm else ""

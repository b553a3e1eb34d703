"""Find the subjects (shells) of a photo taken on a plain background, as crop boxes.

Collectors photograph shells small on a sheet of paper or cloth, often with a ruler beside them, and
several shells at once. The model was trained on shells that fill the frame, so what it is shown should be
one shell with a little background around it. The method is deliberately simple and predictable:

1. the background colour is the median of the photo's border (a ruler or a label touching the border
   changes the median little); a border whose colours spread too much is no plain background, and the
   photo is left whole;
2. a pixel is foreground when its colour is far from the background's (a threshold above the border's own
   noise); specks are opened away, the parts of one shell closed together and holes filled
   (``scipy.ndimage``);
3. each connected component is a candidate (``scipy.ndimage.label``); thin stripes (a ruler, a scale bar,
   the edge of a sheet) and specks far smaller than the largest subject are dropped;
4. each subject's box is padded a little and widened to at most 4:3 (the model resizes the shorter side
   and keeps the centre, so a long box would lose the shell's ends), within the photo.

When nothing stands out the whole photo is used, and :attr:`Subjects.note` says why in one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from shellgui.core.crops import MIN_CROP_SIDE, Crop

#: Subjects are found on a copy whose longer side is at most this many pixels (fast, and enough).
WORK_SIDE = 512
#: The border band (fraction of the shorter side) the background colour is estimated from.
BORDER = 0.04
#: A border whose colours lie further than this from their median (RGB distance, 90th percentile) is not
#: a plain background.
MAX_BORDER_SPREAD = 60.0
#: A pixel at least this far from the background colour (RGB distance, 0-441) is foreground, or further
#: when the border itself is noisier (:data:`NOISE_FACTOR` times its median distance: robust to a shell
#: or a ruler touching the border).
MIN_CONTRAST = 40.0
NOISE_FACTOR = 4.0
#: Components longer than this many times their width are stripes (rulers, scale bars), not shells.
MAX_SUBJECT_ASPECT = 6.0
#: Components smaller than this fraction of the largest one, or of the photo, are specks.
MIN_RELATIVE_AREA = 0.08
MIN_PHOTO_FRACTION = 0.0005
#: Padding added around each subject, as a fraction of its longer side.
PADDING = 0.05
#: Boxes are widened to at most this aspect ratio: the model resizes the shorter side and keeps the
#: centre square, so a longer box loses the shell's ends, and a square box of a shell on paper shows the
#: model more paper than it ever saw. 4:3 with 5 % padding gave the zhang8 model its own accuracy back on
#: pasted photos; square boxes with 12 % padding lost most of it on light backgrounds
#: (bench/bench_autocrop.py, bench/results/autocrop.txt).
MAX_BOX_ASPECT = 4 / 3
#: A subject box covering this much of the photo means the photo is already framed: no crop.
FRAMED = 0.8
#: At most this many subjects are offered (the largest).
MAX_SUBJECTS = 24


@dataclass(frozen=True)
class Subjects:
    """The subjects found in one photo.

    Attributes:
        crops: one box per subject, in pixels of the upright full-resolution photo, in reading order (top
            to bottom, then left to right); empty when the whole photo should be used.
        note: one line saying why the whole photo is used (nothing found, no plain background, already
            framed), or what was left out; ``None`` when there is nothing to say.
        background: the background colour found (RGB), ``None`` when the border is not plain.
        boxes: each subject's tight box (before padding), in the same order as ``crops``.
    """

    crops: tuple[Crop, ...]
    note: str | None = None
    background: tuple[int, int, int] | None = None
    boxes: tuple[Crop, ...] = ()


def _work_copy(image: Image.Image) -> np.ndarray:
    scale = min(1.0, WORK_SIDE / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def _border(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    band = max(1, round(min(height, width) * BORDER))
    return np.concatenate(
        [
            pixels[:band].reshape(-1, 3),
            pixels[-band:].reshape(-1, 3),
            pixels[band:-band, :band].reshape(-1, 3),
            pixels[band:-band, -band:].reshape(-1, 3),
        ]
    )


def _square(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """A padded box around ``(left, top, right, bottom)`` no longer than :data:`MAX_BOX_ASPECT`, shifted
    (then clipped) into the photo."""
    left, top, right, bottom = box
    pad = max(right - left, bottom - top) * PADDING
    box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
    box_w, box_h = max(box_w, box_h / MAX_BOX_ASPECT), max(box_h, box_w / MAX_BOX_ASPECT)
    box_w, box_h = min(box_w, width), min(box_h, height)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0 = min(max(cx - box_w / 2, 0.0), max(width - box_w, 0.0))
    y0 = min(max(cy - box_h / 2, 0.0), max(height - box_h, 0.0))
    x1, y1 = min(x0 + box_w, width), min(y0 + box_h, height)
    # A subject longer than the photo's shorter side keeps its whole length (the box is then not square).
    x0, x1 = min(x0, left), max(x1, right)
    y0, y1 = min(y0, top), max(y1, bottom)
    return math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)


def _reading_order(found: list[tuple[Crop, Crop]]) -> list[tuple[Crop, Crop]]:
    """Rows top to bottom (a subject overlapping a row's boxes vertically joins it), each left to right."""
    rows: list[list[tuple[Crop, Crop]]] = []
    for item in sorted(found, key=lambda f: f[1].y):
        if rows and item[1].y < max(t.y + t.height for _, t in rows[-1]):
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item for row in rows for item in sorted(row, key=lambda f: f[1].x)]


def find_subjects(image: Image.Image, full_size: tuple[int, int] | None = None) -> Subjects:
    """The subjects of a photo on a plain background (see the module's description).

    Args:
        image: the upright photo, at any decoded size.
        full_size: the photo's upright full-resolution size, when ``image`` is a reduced decode; the crops
            are given in its pixels.
    """
    width, height = full_size or image.size
    pixels = _work_copy(image)
    work_h, work_w = pixels.shape[:2]
    scale = work_w / width  # work pixels per full-resolution pixel
    border = _border(pixels)
    background = np.median(border, axis=0)
    spread = np.linalg.norm(border - background, axis=1)
    if float(np.percentile(spread, 90)) > MAX_BORDER_SPREAD:
        return Subjects((), "the background is not plain: the whole photo is identified")
    red, green, blue = (int(round(float(c))) for c in background)
    colour = (red, green, blue)
    contrast = max(MIN_CONTRAST, NOISE_FACTOR * float(np.median(spread)))
    smooth = ndimage.uniform_filter(pixels, size=(3, 3, 1))
    mask = np.linalg.norm(smooth - background, axis=2) > contrast
    unit = max(1, round(min(work_h, work_w) / 150))
    mask = ndimage.binary_opening(mask, structure=np.ones((2 * unit + 1,) * 2, bool))
    mask = ndimage.binary_closing(mask, structure=np.ones((4 * unit + 1,) * 2, bool))
    mask = ndimage.binary_fill_holes(mask)
    labels, count = ndimage.label(mask)
    if count == 0:
        return Subjects(
            (), "no subject stands out from the background: the whole photo is identified", colour
        )
    areas = ndimage.sum_labels(mask, labels, index=np.arange(1, count + 1))
    candidates = []
    stripes = 0
    for index, found in enumerate(ndimage.find_objects(labels)):
        if found is None:
            continue
        rows, cols = found
        box_h, box_w = rows.stop - rows.start, cols.stop - cols.start
        if max(box_h, box_w) > MAX_SUBJECT_ASPECT * min(box_h, box_w):
            stripes += 1
            continue
        candidates.append((float(areas[index]), (cols.start, rows.start, cols.stop, rows.stop)))
    if not candidates:
        what = "only a ruler-like stripe" if stripes else "nothing"
        return Subjects((), f"{what} stands out from the background: the whole photo is identified", colour)
    largest = max(area for area, _ in candidates)
    floor = max(largest * MIN_RELATIVE_AREA, work_w * work_h * MIN_PHOTO_FRACTION)
    kept = sorted((c for c in candidates if c[0] >= floor), key=lambda c: -c[0])
    note = None
    if len(kept) > MAX_SUBJECTS:
        note = f"{len(kept)} subjects found; only the {MAX_SUBJECTS} largest are offered"
        kept = kept[:MAX_SUBJECTS]
    found = []
    for _, (x0, y0, x1, y1) in kept:
        full_box = (x0 / scale, y0 / scale, x1 / scale, y1 / scale)
        left, top, right, bottom = _square(full_box, width, height)
        if right - left < MIN_CROP_SIDE or bottom - top < MIN_CROP_SIDE:
            continue
        tight = Crop(
            round(full_box[0]),
            round(full_box[1]),
            round(full_box[2] - full_box[0]),
            round(full_box[3] - full_box[1]),
        )
        found.append((Crop(left, top, right - left, bottom - top), tight))
    if not found:
        return Subjects((), "the subjects found are too small to identify: the whole photo is used", colour)
    if len(found) == 1 and found[0][0].area >= FRAMED * width * height:
        return Subjects((), "the subject already fills the photo: the whole photo is identified", colour)
    found = _reading_order(found)
    return Subjects(tuple(c for c, _ in found), note, colour, tuple(t for _, t in found))

"""Collector photos: the bundled model on uncropped vs auto-cropped photos, in the same run.

    OMP_NUM_THREADS=1 python bench/bench_autocrop.py [--data ../shared/data/zhang8] [--out bench/results]

Each held-out test photo of zhang8 (the bundled model's own test split: seed 0, 15 % of the specimens of
each taxon, as ``shellgui-train`` split them; never a training photo) is pasted small onto a large plain
background (paper, grey card, dark cloth; 2400x1600 and 4000x3000; the photo at 12 % or 20 % of the width)
with a ruler-like stripe and some dust, saved as JPEG, and identified twice: whole, as a collector would
drop it, and cut by :func:`shellgui.core.autocrop.find_subjects`. Pairs of test photos of two different
taxa make the two-shell photos. Printed: the answer mix (correct / wrong decided answer / uncertain / "not
known"), top-1 accuracy, subjects found, and the IoU of the found (tight) box with the pasted box; the
auto-crop boxes of the shipped settings (5 % padding, at most 4:3) and of the first version ("square12":
square, 12 % padding) side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shellgui.core import autocrop  # noqa: E402
from shellgui.core.autocrop import find_subjects  # noqa: E402
from shellgui.core.crops import Crop, crop_photo  # noqa: E402
from shellgui.core.imaging import open_photo  # noqa: E402
from shellgui.core.inference import load_classifier  # noqa: E402
from shellgui.core.inference.decision import Prediction  # noqa: E402

BACKGROUNDS = {"paper": (236, 232, 222), "grey card": (188, 188, 192), "dark cloth": (34, 48, 40)}
CANVASES = ((2400, 1600), (4000, 3000))
SHELL_WIDTH = (0.12, 0.20)  # the pasted photo's width, as a fraction of the canvas width


#: The first version's boxes, for comparison: square, 12 % padding.
SQUARE = "square12"


@contextlib.contextmanager
def square_boxes() -> Iterator[None]:
    saved = autocrop.PADDING, autocrop.MAX_BOX_ASPECT
    autocrop.PADDING, autocrop.MAX_BOX_ASPECT = 0.12, 1.0
    try:
        yield
    finally:
        autocrop.PADDING, autocrop.MAX_BOX_ASPECT = saved


@dataclass
class Case:
    """One generated photo: its file, the pasted boxes and their true labels."""

    image: bytes
    boxes: list[Crop]
    truths: list[str]
    kind: str


def test_split(data: Path) -> list[tuple[Path, str]]:
    """The bundled model's test photos (``shellgui-train`` defaults: seed 0, 15 % test, split by specimen)."""
    from shellgui_train import data as D

    splits = D.split_by_specimen(D.samples_from_folders(data), 0.15, 0.15, 0)
    return [(Path(s.path), s.label) for s in splits.test]


def ruler(draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random) -> Crop:
    """A yellow ruler with ticks along the bottom or the left edge; returns its box."""
    width, height = size
    horizontal = rng.random() < 0.5
    if horizontal:
        box = Crop(width // 20, height - height // 9, width - width // 10, height // 28)
    else:
        box = Crop(width // 40, height // 12, width // 30, height - height // 6)
    draw.rectangle(box.box, fill=(246, 226, 96), outline=(90, 80, 40), width=2)
    step = max(6, max(size) // 300)
    if horizontal:
        for x in range(box.x, box.x + box.width, step):
            draw.line((x, box.y, x, box.y + box.height // 3), fill=(25, 25, 25), width=2)
    else:
        for y in range(box.y, box.y + box.height, step):
            draw.line((box.x, y, box.x + box.width // 3, y), fill=(25, 25, 25), width=2)
    return box


def compose(
    shells: list[tuple[Path, str]],
    background: tuple[int, int, int],
    canvas: tuple[int, int],
    fraction: float,
    rng: random.Random,
    kind: str,
) -> Case:
    width, height = canvas
    image = Image.new("RGB", canvas, background)
    draw = ImageDraw.Draw(image)
    stripe = ruler(draw, canvas, rng)
    boxes: list[Crop] = []
    for path, _ in shells:
        shell = Image.open(path).convert("RGB")
        w = round(width * fraction)
        h = round(w * shell.height / shell.width)
        shell = shell.resize((w, h), Image.Resampling.LANCZOS)
        for _ in range(200):  # a place off the ruler and off the other shells
            x = rng.randrange(width // 10, width - w - width // 20)
            y = rng.randrange(height // 10, height - h - height // 6)
            box = Crop(x, y, w, h)
            apart = all(box.iou(Crop(b.x - 40, b.y - 40, b.width + 80, b.height + 80)) == 0 for b in boxes)
            if box.iou(stripe) == 0 and apart:
                break
        image.paste(shell, (box.x, box.y))
        boxes.append(box)
    for _ in range(12):  # dust
        x, y = rng.randrange(width), rng.randrange(height)
        draw.ellipse((x, y, x + 4, y + 4), fill=(70, 70, 70))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return Case(buf.getvalue(), boxes, [label for _, label in shells], kind)


def outcome(prediction: Prediction, truth: str) -> str:
    name = truth.replace("_", " ")
    if prediction.taxon is None:
        return "not known" if prediction.not_known else "uncertain"
    if prediction.taxon == name or (prediction.rank != "species" and name.startswith(prediction.taxon)):
        return "correct"
    return "wrong"


def top1(prediction: Prediction, truth: str) -> bool:
    return prediction.top_k[0].name == truth.replace("_", " ")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "zhang8")
    parser.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "default.onnx")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no zhang8 folder at {args.data}: give --data", file=sys.stderr)
        return 2
    classifier = load_classifier(args.model)
    photos = test_split(args.data)
    rng = random.Random(args.seed)
    cases: list[Case] = []
    for bg_name, colour in BACKGROUNDS.items():
        for canvas in CANVASES:
            for fraction in SHELL_WIDTH:
                for shell in photos:
                    cases.append(compose([shell], colour, canvas, fraction, rng, f"one shell, {bg_name}"))
    by_taxon: dict[str, list[tuple[Path, str]]] = {}
    for p in photos:
        by_taxon.setdefault(p[1], []).append(p)
    taxa = sorted(by_taxon)
    for i, shell in enumerate(photos):  # pairs of two taxa, on each background
        other = by_taxon[taxa[(taxa.index(shell[1]) + 1 + i % 3) % len(taxa)]][i % 4]
        bg_name = list(BACKGROUNDS)[i % 3]
        cases.append(compose([shell, other], BACKGROUNDS[bg_name], CANVASES[i % 2], 0.15, rng, "two shells"))

    # The original photos, for reference: the model's own test accuracy.
    side = classifier.min_decode_side
    reference = [classifier.identify([open_photo(p, min_side=side)])[0] for p, _ in photos]
    ref_top1 = sum(top1(r, t) for r, (_, t) in zip(reference, photos)) / len(photos)

    rows: dict[tuple[str, str], Counter[str]] = {}
    ious: dict[str, list[float]] = {}
    found_counts: Counter[str] = Counter()
    times = {"whole": 0.0, "auto-crop": 0.0, "find_subjects": 0.0}
    for case in cases:
        tmp = ROOT / "bench" / "out" / "autocrop.jpg"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(case.image)
        t0 = time.perf_counter()
        whole = classifier.identify([open_photo(tmp, min_side=classifier.min_decode_side)])[0]
        t1 = time.perf_counter()
        photo = open_photo(tmp)
        t2 = time.perf_counter()
        subjects = find_subjects(photo.image, (photo.info.width, photo.info.height))
        t3 = time.perf_counter()
        cropped = [crop_photo(photo, c) for c in subjects.crops] or [photo]
        answers = classifier.identify(cropped)
        t4 = time.perf_counter()
        with square_boxes():
            square_subjects = find_subjects(photo.image, (photo.info.width, photo.info.height))
        square_cropped = [crop_photo(photo, c) for c in square_subjects.crops] or [photo]
        square_answers = classifier.identify(square_cropped)
        times["whole"] += t1 - t0
        times["find_subjects"] += t3 - t2
        times["auto-crop"] += t4 - t1
        found_counts[f"{case.kind.split(',')[0]}: {len(subjects.crops)} found"] += 1
        for box, truth in zip(case.boxes, case.truths):
            # the whole photo has one answer for every shell in it; auto-crop the answer of the subject
            # whose box matches this shell best
            matches = [(b.iou(box), a) for b, a in zip(subjects.boxes, answers)] if subjects.boxes else []
            iou, answer = max(matches, key=lambda m: m[0]) if matches else (0.0, answers[0])
            square = [(b.iou(box), a) for b, a in zip(square_subjects.boxes, square_answers)]
            square_answer = max(square, key=lambda m: m[0])[1] if square else square_answers[0]
            ious.setdefault(case.kind, []).append(iou)
            for method, prediction in (("whole", whole), ("auto-crop", answer), (SQUARE, square_answer)):
                counts = rows.setdefault((case.kind, method), Counter())
                counts[outcome(prediction, truth)] += 1
                counts["top1"] += top1(prediction, truth)
                counts["n"] += 1

    lines = [
        f"bundled model {classifier.name} {classifier.version}; {len(photos)} zhang8 test-split photos "
        f"(seed 0, by specimen); their own top-1 as photographed: {ref_top1:.1%}",
        f"{len(cases)} generated photos: 3 backgrounds x 2 canvases x 2 shell sizes x {len(photos)} "
        f"one-shell + {len(photos)} two-shell; JPEG q90 with a ruler stripe and dust",
        "",
        f"{'photos':<22} {'method':<10} {'n':>4} {'top-1':>7} {'correct':>8} {'wrong':>6} {'uncertain':>9} "
        f"{'not known':>9}",
    ]
    order = {"whole": 0, "auto-crop": 1, SQUARE: 2}
    for (kind, method), c in sorted(rows.items(), key=lambda kv: (kv[0][0], order[kv[0][1]])):
        n = c["n"]
        lines.append(
            f"{kind:<22} {method:<10} {n:>4} {c['top1'] / n:>7.1%} {c['correct'] / n:>8.1%} "
            f"{c['wrong'] / n:>6.1%} {c['uncertain'] / n:>9.1%} {c['not known'] / n:>9.1%}"
        )
    for method in order:
        total: Counter[str] = Counter()
        for (_kind, m), c in rows.items():
            if m == method:
                total.update(c)
        n = total["n"]
        lines.append(
            f"{'all shells':<22} {method:<10} {n:>4} {total['top1'] / n:>7.1%} {total['correct'] / n:>8.1%} "
            f"{total['wrong'] / n:>6.1%} {total['uncertain'] / n:>9.1%} {total['not known'] / n:>9.1%}"
        )
    lines.append("")
    lines.append("IoU of the found (tight) box with the pasted box, per shell:")
    for kind, values in sorted(ious.items()):
        lines.append(
            f"  {kind:<22} median {statistics.median(values):.3f}  min {min(values):.3f}  "
            f"share >= 0.5: {sum(v >= 0.5 for v in values) / len(values):.1%}"
        )
    lines.append("subjects found: " + ", ".join(f"{k}: {v}" for k, v in sorted(found_counts.items())))
    lines.append(
        f"time per photo: whole {times['whole'] / len(cases) * 1000:.0f} ms, auto-crop (full decode + "
        f"find + identify each) {times['auto-crop'] / len(cases) * 1000:.0f} ms, of which find_subjects "
        f"{times['find_subjects'] / len(cases) * 1000:.0f} ms"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "autocrop.txt").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

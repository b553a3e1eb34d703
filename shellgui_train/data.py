"""Training data: folder-per-class directories or validated catalogue photos, split by specimen.

The two views of one shell must never straddle splits, or accuracy is inflated; a view pattern (a
regular expression removed from the file stem) turns each file name into its specimen id.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from shellgui.core.errors import PhotoError
from shellgui.core.imaging import is_photo_name, open_photo
from shellgui.core.modelcard import Taxon

log = logging.getLogger(__name__)

#: Removed from a file stem to get the specimen id: ``Bolinus_brandaris_3_A`` -> ``Bolinus_brandaris_3``,
#: ``JPGImagesDELA_01_DORSAL.1`` -> ``JPGImagesDELA_01.1``.
DEFAULT_VIEW_PATTERN = (
    r"[_-](?:[A-Da-d]|DORSAL|VENTRAL|LATERAL|dorsal|ventral|lateral|apertural|abapertural)(?=$|[._-])"
)
MIN_TRAIN_PER_CLASS = 5
NO_PHOTOS = "the data set has no photos (expected one sub-folder of photos per taxon)"


class DataError(Exception):
    """The data set cannot be used (empty, one class, unreadable); the message says why."""


@dataclass(frozen=True)
class Sample:
    path: str
    label: str
    specimen: str


@dataclass
class Splits:
    labels: list[str]
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    taxa: list[Taxon] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name, samples in (("train", self.train), ("val", self.val), ("test", self.test)):
            c = Counter(s.label for s in samples)
            out[name] = {label: c.get(label, 0) for label in self.labels}
        return out

    def data_hash(self) -> str:
        """A hash of every file's name, label and bytes size: identifies the training data in the card."""
        digest = hashlib.sha256()
        for s in sorted(self.train + self.val + self.test, key=lambda s: s.path):
            digest.update(f"{Path(s.path).name}|{s.label}|{Path(s.path).stat().st_size}\n".encode())
        return digest.hexdigest()


def specimen_id(path: Path, view_pattern: str) -> str:
    return re.sub(view_pattern, "", path.stem)


def samples_from_folders(root: Path, view_pattern: str = DEFAULT_VIEW_PATTERN) -> list[Sample]:
    """One sub-folder per class (the folder name is the label); photos anywhere below it."""
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    samples = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = class_dir.name.replace(" ", "_")
        for path in sorted(class_dir.rglob("*")):
            if path.is_file() and is_photo_name(path) and not path.name.startswith("."):
                samples.append(Sample(str(path), label, f"{label}/{specimen_id(path, view_pattern)}"))
    return samples


def samples_from_catalog(db: str, view_pattern: str = DEFAULT_VIEW_PATTERN) -> list[Sample]:
    """Photos whose current identification a person validated in the app (``ValidatedByHuman``).

    ``shellgui catalog`` makes one specimen per photo, so the views of one shell may sit in two catalogue
    specimens: photos are grouped by catalogue specimen *and* by file name (``view_pattern`` removed, same
    folder), and a group never straddles two splits.
    """
    from shellgui.core.catalog import Catalog
    from shellgui.core.catalog.repository import validated_samples
    from shellgui.core.errors import CatalogError

    if "://" not in db and not Path(db).expanduser().is_file():
        raise DataError(f"{db}: no such catalogue file (check the path; none is created for training)")
    try:
        catalog = Catalog(db)
        with catalog.session() as session:
            rows = validated_samples(session)
        catalog.close()
    except CatalogError as exc:
        raise DataError(str(exc)) from None
    groups = group_views([(r.path, r.specimen_id) for r in rows], view_pattern)
    return [
        Sample(r.path, r.taxon.replace(" ", "_").replace(".", ""), group) for r, group in zip(rows, groups)
    ]


def group_views(photos: list[tuple[str, int]], view_pattern: str) -> list[str]:
    """A group name per ``(path, specimen id)``: photos sharing a specimen or a view-stripped name join."""
    parent: dict[tuple[str, ...], tuple[str, ...]] = {}

    def find(key: tuple[str, ...]) -> tuple[str, ...]:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    links = []
    for path, specimen in photos:
        p = Path(path)
        a, b = ("specimen", str(specimen)), ("file", str(p.parent), specimen_id(p, view_pattern))
        parent[find(a)] = find(b)
        links.append(a)
    roots = [find(a) for a in links]
    first: dict[tuple[str, ...], str] = {}
    for (_path, specimen), root in zip(photos, roots):
        first.setdefault(root, f"specimen-{specimen}")
    return [first[root] for root in roots]


def check_readable(samples: list[Sample]) -> list[Sample]:
    """Drop photos that cannot be decoded, logging each one; refuse when nothing is left."""
    if not samples:
        raise DataError(NO_PHOTOS)
    good, bad = [], []
    for sample in samples:
        try:
            open_photo(sample.path, min_side=32)
            good.append(sample)
        except PhotoError as exc:
            bad.append(str(exc))
    for message in bad[:20]:
        log.warning("skipping unreadable photo %s", message)
    if len(bad) > 20:
        log.warning("... and %d more unreadable photos", len(bad) - 20)
    if not good:
        raise DataError("none of the photos could be read" + (f" (first: {bad[0]})" if bad else ""))
    return good


def split_by_specimen(
    samples: list[Sample], val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> Splits:
    """Stratified, seeded split where every specimen's photos stay together."""
    if not samples:
        raise DataError(NO_PHOTOS)
    labels = sorted({s.label for s in samples})
    if len(labels) < 2:
        raise DataError(f"the data set has only one class ({labels[0]}); a classifier needs at least two")
    by_label: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    for s in samples:
        by_label[s.label][s.specimen].append(s)
    rng = random.Random(seed)
    train: list[Sample] = []
    val: list[Sample] = []
    test: list[Sample] = []
    for label in labels:
        specimens = sorted(by_label[label])
        rng.shuffle(specimens)
        n = len(specimens)
        n_test = max(1, round(n * test_fraction)) if n >= 3 and test_fraction > 0 else 0
        n_val = max(1, round(n * val_fraction)) if n - n_test >= 2 and val_fraction > 0 else 0
        for i, spec in enumerate(specimens):
            target = test if i < n_test else val if i < n_test + n_val else train
            target.extend(by_label[label][spec])
    return Splits(labels, train, val, test)


def read_taxonomy_csv(path: Path | None) -> dict[str, dict[str, str]]:
    """Optional CSV with a ``label`` column plus ``name``, ``genus``, ``family`` and any higher ranks."""
    if path is None:
        return {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "label" not in rows[0]:
        raise DataError(f"{path}: the taxonomy CSV needs a 'label' column")
    return {r["label"]: {k: (v or "").strip() for k, v in r.items() if k != "label"} for r in rows}


def build_taxa(labels: list[str], taxonomy: dict[str, dict[str, str]]) -> list[Taxon]:
    taxa = []
    for label in labels:
        base = Taxon.from_label(label)
        extra = taxonomy.get(label, {})
        higher = {k: v for k, v in extra.items() if k not in ("name", "genus", "family", "rank") and v}
        taxa.append(
            Taxon(
                label=label,
                name=extra.get("name") or base.name,
                rank=extra.get("rank") or base.rank,
                genus=extra.get("genus") or base.genus,
                family=extra.get("family") or base.family,
                higher=higher,
            )
        )
    return taxa


def report_counts(splits: Splits, out: Path | None = None) -> list[str]:
    """Print the class counts (and save them); return warnings about classes too small to learn."""
    counts = splits.counts()
    width = max(len(label) for label in splits.labels)
    print(f"{'class':<{width}}  train  val  test")
    warnings = []
    for label in splits.labels:
        tr, va, te = (counts[k][label] for k in ("train", "val", "test"))
        print(f"{label:<{width}}  {tr:5d} {va:4d} {te:5d}")
        if tr < MIN_TRAIN_PER_CLASS:
            warnings.append(f"class {label} has only {tr} training photos: too few to learn reliably")
        if va == 0:
            warnings.append(f"class {label} has no validation photos (too few specimens)")
    print(f"{'total':<{width}}  {len(splits.train):5d} {len(splits.val):4d} {len(splits.test):5d}")
    groups = len({s.specimen for s in splits.train + splits.val + splits.test})
    print(f"Split by specimen: {groups} specimen groups (the photos of one group stay in one split)")
    for w in warnings:
        log.warning(w)
    if out is not None:
        out.write_text(json.dumps({"counts": counts, "warnings": warnings}, indent=2))
    return warnings


def hold_out_taxa(samples: list[Sample], count: int, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Set ``count`` randomly chosen taxa (seeded) aside: the model never sees them, and their photos
    measure how it answers taxa it does not know (near-OOD). Returns (kept samples, held-out samples)."""
    if count <= 0:
        return samples, []
    labels = sorted({s.label for s in samples})
    if count > len(labels) - 2:
        raise DataError(f"--holdout-taxa {count} leaves fewer than two of the {len(labels)} taxa to train on")
    held = set(random.Random(seed).sample(labels, count))
    return [s for s in samples if s.label not in held], [s for s in samples if s.label in held]


def outlier_samples(root: Path, limit: int = 0, seed: int = 0) -> list[Sample]:
    """Photos anywhere under ``root`` (things the model must refuse), a seeded random ``limit`` of them."""
    if not root.is_dir():
        reason = "is a file, not a folder" if root.exists() else "does not exist"
        raise DataError(f"{root}: the outlier folder {reason}")
    paths = sorted(
        p for p in root.rglob("*") if p.is_file() and is_photo_name(p) and not p.name.startswith(".")
    )
    if not paths:
        raise DataError(f"{root}: the outlier folder has no photos")
    if limit and len(paths) > limit:
        paths = sorted(random.Random(seed).sample(paths, limit))
    return check_readable([Sample(str(p), "outlier", str(p)) for p in paths])

"""Few-shot from the collection: with N checked specimens of taxa the model was never trained on, do new
photos of those taxa get them among the suggestions? Measured with the app's own code (record a checked
specimen, its embeddings stored; `few_shot_candidates` for a new photo), against the naive baseline of the
single nearest checked photo's taxon.

Needs a model trained with ``--holdout-taxa`` (its ``splits.json`` names the photos it saw; the held-out
taxa are the photo folders it has no label for):

    python bench/bench_fewshot.py RUN_DIR PHOTO_ROOT [--shots 1,3,5] [--queries 20]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from shellgui.core.catalog import Catalog
from shellgui.core.catalog.decisions import Decision
from shellgui.core.identify import identify_paths, record
from shellgui.core.inference import Classifier
from shellgui.core.similar import few_shot_candidates, similar_specimens


def specimen_of(path: Path) -> str:
    """The specimen a carabid photo shows: its DORSAL and VENTRAL views share the stem."""
    return re.sub(r"_(DORSAL|VENTRAL)", "", path.stem, flags=re.IGNORECASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("photos", type=Path)
    parser.add_argument("--shots", default="1,3,5")
    parser.add_argument("--queries", type=int, default=20, help="query specimens per held-out taxon")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    classifier = Classifier(args.run / "model.onnx", provider="cpu")
    known = {label.replace("_", " ") for label in classifier.card.labels} | set(classifier.card.labels)
    held_out = sorted(
        d.name for d in args.photos.iterdir() if d.is_dir() and d.name.replace("_", " ") not in known
    )
    print(f"model {classifier.name} {classifier.version}; held-out taxa: {', '.join(held_out)}")
    rng = random.Random(args.seed)
    specimens: dict[str, list[list[Path]]] = {}
    for taxon in held_out:
        groups: dict[str, list[Path]] = defaultdict(list)
        for p in sorted((args.photos / taxon).glob("*.jpg")):
            groups[specimen_of(p)].append(p)
        chosen = list(groups.values())
        rng.shuffle(chosen)
        specimens[taxon] = chosen
    rows = []
    for shots in [int(s) for s in args.shots.split(",")]:
        hits: defaultdict[str, int] = defaultdict(int)
        total = 0
        with tempfile.TemporaryDirectory() as tmp:
            catalog = Catalog(Path(tmp) / "fewshot.sqlite")
            for taxon in held_out:  # N checked specimens of every held-out taxon, all in one catalogue
                for views in specimens[taxon][:shots]:
                    photos, outcome = identify_paths(classifier, views, as_specimen=True)
                    record(
                        catalog,
                        classifier,
                        photos,
                        outcome.results[0].prediction,
                        decision=Decision.named(taxon.replace("_", " ")),
                        by="bench",
                    )
            for taxon in held_out:
                name = taxon.replace("_", " ")
                for views in specimens[taxon][shots : shots + args.queries]:
                    _photos, outcome = identify_paths(classifier, views[:1])
                    embedding = outcome.results[0].prediction.embedding
                    assert embedding is not None
                    found = [
                        c.taxon for c in few_shot_candidates(catalog, classifier.sha256, embedding, known)
                    ]
                    near = similar_specimens(catalog, classifier.sha256, embedding, count=1)
                    total += 1
                    hits["at1"] += found[:1] == [name]
                    hits["at3"] += name in found[:3]
                    hits["nearest"] += bool(near) and near[0].taxon == name
        rows.append((shots, total, hits["at1"] / total, hits["at3"] / total, hits["nearest"] / total))
    print(
        "| checked specimens per held-out taxon | query photos | few-shot recall@1 | few-shot recall@3 | "
        "naive: nearest checked photo's taxon |"
    )
    print("|---|---|---|---|---|")
    for shots, total, at1, at3, nearest in rows:
        print(f"| {shots} | {total} | {at1:.3f} | {at3:.3f} | {nearest:.3f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

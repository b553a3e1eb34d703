"""A large synthetic catalogue (100,000 specimens in seconds) built through the core bulk helper.

Used by the GUI tests and by bench/bench_gui.py.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from shellgui.core.catalog import Catalog
from shellgui.core.catalog.bulk import NewSpecimen, add_specimens_bulk
from shellgui.core.catalog.schema import PREDICTED, VALIDATED

TAXA = [
    "Blasicrura pallidula",
    "Cypraea tigris",
    "Conus textile",
    "Conus marmoreus",
    "Harpa major",
    "Harpa articularis",
    "Mauritia arabica",
    "Monetaria moneta",
    "Lambis lambis",
    "Oliva porphyria",
    "Murex pecten",
    "Strombus gigas",
    "Turbo marmoratus",
    "Nautilus pompilius",
    "Anadara consociata",
    "Tridacna gigas",
]
LOCALITIES = ["Nha Trang", "Okinawa", "Cebu", "Zanzibar", "Red Sea, Eilat", "Mombasa", "Bali", "Phuket"]
COLLECTORS = ["A. Curator", "B. Diver", "C. Collector", "D. Student", None]


def _thumbnails(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        image = Image.new("RGB", (48, 36), (40 + i * 20 % 200, 90, 200 - i * 15 % 180))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=60)
        out.append(buffer.getvalue())
    return out


def synthetic_specimens(count: int, seed: int = 0) -> Iterator[NewSpecimen]:
    """``count`` plausible specimens: catalogue numbers MZ-000001..., a taxon, a score, a thumbnail."""
    rng = random.Random(seed)
    thumbs = _thumbnails(8)
    for i in range(1, count + 1):
        taxon = rng.choice(TAXA) if rng.random() > 0.05 else None
        yield NewSpecimen(
            catalog_number=f"MZ-{i:06d}",
            locality=rng.choice(LOCALITIES),
            collector=rng.choice(COLLECTORS),
            collected_on=f"{rng.randint(1950, 2024)}-{rng.randint(1, 12):02d}",
            taxon=taxon,
            score=round(rng.random(), 4),
            status=VALIDATED if rng.random() < 0.2 else PREDICTED,
            model_name="synthetic",
            model_version="1",
            photo_path=f"/photos/drawer-{i // 1000:03d}/IMG_{i:06d}.jpg",
            photo_sha256=hashlib.sha256(f"photo {seed} {i}".encode()).hexdigest(),
            photo_size=(4000, 3000),
            thumbnail=thumbs[i % len(thumbs)],
        )


def build_catalog(path: Path, count: int) -> Catalog:
    """A catalogue file at ``path`` with ``count`` synthetic specimens (reused when it already has them)."""
    catalog = Catalog(path)
    from shellgui.core.catalog.browse import SpecimenFilter, count_specimens

    with catalog.session() as session:
        existing = count_specimens(session, SpecimenFilter())
    if existing == 0:
        with catalog.session() as session, session.begin():
            add_specimens_bulk(session, synthetic_specimens(count))
    elif existing != count:
        raise ValueError(f"{path} holds {existing} specimens, not {count}")
    return catalog

"""Similar-specimen search over stored catalogue embeddings: shellgui's index against the naive scan.

Synthetic catalogue: N unit embeddings of size D drawn around a few hundred "taxon" centres (like real
penultimate features: tight clusters, not uniform noise), stored as float16 as the catalogue stores them.
Each candidate answers single queries (the Identify view asks for one photo at a time) for the 10
nearest photos; recall@10 is against the exact float32 answer. One thread for everyone (this machine's
2 cores are shared); build = seconds from the stored float16 rows to a searchable index.

    python bench/bench_similar.py [N] [D]             # ours vs naive; default 100000 1280
    python bench/bench_similar.py 100000 1280 --libraries   # + exact scans of faiss and usearch
    python bench/bench_similar.py 100000 1280 --all   # + HNSW of usearch and hnswlib (minutes to build)

Ours is ``shellgui.core.similar.EmbeddingIndex``: exact NumPy below ``LIBRARY_MIN_ROWS`` rows, usearch
HNSW (float16) from there on; its build is paid once and saved in the cache folder (``catalogue_index``).
The libraries for the comparison rows come with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import table

K = 10
QUERIES = 50

# A candidate: built from the stored rows, it answers one query with row numbers; plus its bytes.
Search = Callable[[np.ndarray], Any]
Built = tuple[Search, int]
Factory = Callable[[np.ndarray], Built]


def synthetic(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(300, d)).astype(np.float32)
    rows = centres[rng.integers(0, 300, n)] + 0.8 * rng.normal(size=(n, d)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    queries = centres[rng.integers(0, 300, QUERIES)] + 0.8 * rng.normal(size=(QUERIES, d)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return rows.astype(np.float16), queries


def exact(rows32: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return np.argsort(-(queries @ rows32.T), axis=1)[:, :K]


def naive_numpy(stored: np.ndarray) -> Built:
    """The naive path: decode every stored row to float32 and scan them all with one matmul."""
    rows = stored.astype(np.float32)

    def search(q: np.ndarray) -> np.ndarray:
        sims = rows @ q
        top = np.argpartition(-sims, K)[:K]
        return top[np.argsort(-sims[top])]

    return search, rows.nbytes


def ours(stored: np.ndarray) -> Built:
    from shellgui.core.similar import EmbeddingIndex

    index = EmbeddingIndex(np.arange(len(stored)), stored)
    return (lambda q: index.search(q, K)[0]), index.nbytes


def faiss_flat(stored: np.ndarray, kind: str) -> Built:
    import faiss

    faiss.omp_set_num_threads(1)
    d = stored.shape[1]
    index: Any
    if kind == "f32":
        index = faiss.IndexFlatIP(d)
    else:
        qt = faiss.ScalarQuantizer.QT_fp16 if kind == "fp16" else faiss.ScalarQuantizer.QT_8bit
        index = faiss.IndexScalarQuantizer(d, qt, faiss.METRIC_INNER_PRODUCT)
        index.train(stored[:20000].astype(np.float32))
    for start in range(0, len(stored), 20000):
        index.add(stored[start : start + 20000].astype(np.float32))
    nbytes = {"f32": 4, "fp16": 2, "sq8": 1}[kind] * stored.size
    return (lambda q: index.search(q[None, :], K)[1][0]), nbytes


def usearch_exact(stored: np.ndarray) -> Built:
    from usearch.compiled import MetricKind
    from usearch.index import search

    rows = np.ascontiguousarray(stored)

    def run(q: np.ndarray) -> np.ndarray:
        return np.asarray(search(rows, q.astype(np.float16), K, MetricKind.IP, exact=True, threads=1).keys)

    return run, rows.nbytes


def usearch_hnsw(stored: np.ndarray, dtype: str) -> Built:
    from usearch.index import Index

    index = Index(ndim=stored.shape[1], metric="ip", dtype=dtype)
    index.add(np.arange(len(stored)), stored, threads=1)
    return (lambda q: np.asarray(index.search(q, K).keys)), index.memory_usage


def hnswlib_index(stored: np.ndarray) -> Built:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=stored.shape[1])
    index.init_index(max_elements=len(stored), ef_construction=100, M=16)
    index.set_num_threads(1)
    for start in range(0, len(stored), 20000):
        index.add_items(stored[start : start + 20000].astype(np.float32), np.arange(start, start + 20000))
    index.set_ef(64)
    return (lambda q: index.knn_query(q, k=K)[0][0]), len(stored) * (stored.shape[1] * 4 + 16 * 2 * 4)


def measure(
    name: str, factory: Factory, stored: np.ndarray, queries: np.ndarray, truth: np.ndarray
) -> tuple[str, ...]:
    start = time.perf_counter()
    search, nbytes = factory(stored)
    build = time.perf_counter() - start
    search(queries[0])  # warm-up
    times, hits = [], 0
    for q, want in zip(queries, truth):
        t = time.perf_counter()
        got = search(q)
        times.append(time.perf_counter() - t)
        hits += len(set(np.asarray(got).tolist()) & set(want.tolist()))
    ms = 1000 * np.asarray(times)
    return (
        name,
        f"{build:.1f}",
        f"{np.median(ms):.1f}",
        f"{np.percentile(ms, 95):.1f}",
        f"{nbytes / 2**20:.0f}",
        f"{hits / (K * len(queries)):.3f}",
    )


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    d = int(args[1]) if len(args) > 1 else 1280
    import shellgui.core.similar  # noqa: F401  (its import time is not index build time)

    stored, queries = synthetic(n, d)
    truth = exact(stored.astype(np.float32), queries)
    candidates: list[tuple[str, Factory]] = [
        ("naive: NumPy float32 scan", naive_numpy),
        ("ours: shellgui EmbeddingIndex", ours),
    ]
    if "--libraries" in sys.argv or "--all" in sys.argv:
        candidates += [
            ("faiss Flat float32", lambda s: faiss_flat(s, "f32")),
            ("faiss SQ fp16 (exact scan)", lambda s: faiss_flat(s, "fp16")),
            ("faiss SQ 8-bit (scan)", lambda s: faiss_flat(s, "sq8")),
            ("usearch exact float16", usearch_exact),
        ]
    if "--all" in sys.argv:
        candidates += [
            ("usearch HNSW f16", lambda s: usearch_hnsw(s, "f16")),
            ("usearch HNSW i8", lambda s: usearch_hnsw(s, "i8")),
            ("hnswlib HNSW float32", hnswlib_index),
        ]
    rows = []
    for name, factory in candidates:
        try:
            rows.append(measure(name, factory, stored, queries, truth))
        except ImportError as exc:
            rows.append((name, f"not installed ({exc.name})", "", "", "", ""))
        print(rows[-1], flush=True, file=sys.stderr)
    print(f"{n} stored embeddings of size {d} (float16 in the catalogue), {QUERIES} single queries, top {K}")
    print(table(rows, ("index", "build s", "median ms", "p95 ms", "index MiB", "recall@10")))


if __name__ == "__main__":
    main()

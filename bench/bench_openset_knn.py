"""The open-set k-NN score: NumPy on the bank from the model's metadata (what the app does) against the
same distances computed inside an ONNX graph (bank as a float16 initializer, MatMul + TopK, so CUDA could
run it too). One photo's embedding per query (identify) and a batch of 32 (catalogue a folder); EfficientNet
embedding size 1280, k = 5. Also the cost of reading the bank when a model is opened.
"""

from __future__ import annotations

import os
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import median_time, table

D, K = 1280, 5


def in_graph_model(bank: np.ndarray, path: Path) -> Path:
    """embedding [N, D] -> k-th cosine distance [N], with the bank stored as a float16 initializer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Cast", ["bank16"], ["bank"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["embedding", "bank_t"], ["sim"]),
        helper.make_node("TopK", ["sim", "k"], ["top", "idx"], axis=1, largest=1, sorted=1),
        helper.make_node("Gather", ["top", "last"], ["kth"], axis=1),
        helper.make_node("Sub", ["one", "kth"], ["distance"]),
    ]
    # MatMul wants [D, M]: transpose once inside the graph (constant-folded by ONNX Runtime).
    nodes.insert(1, helper.make_node("Transpose", ["bank"], ["bank_t"], perm=[1, 0]))
    graph = helper.make_graph(
        nodes,
        "knn",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", D])],
        [helper.make_tensor_value_info("distance", TensorProto.FLOAT, ["N"])],
        initializer=[
            numpy_helper.from_array(bank.astype(np.float16), "bank16"),
            numpy_helper.from_array(np.array([K], dtype=np.int64), "k"),
            numpy_helper.from_array(np.array(K - 1, dtype=np.int64), "last"),
            numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def main() -> None:
    import onnxruntime as ort

    from shellgui.core.inference.bank import decode_bank, encode_bank
    from shellgui.core.inference.openset import knn_distances

    rng = np.random.default_rng(0)
    repeat = int(os.environ.get("BENCH_REPEAT", "50"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in (96, 800, 3200, 12800):
            raw = rng.normal(size=(m, D)).astype(np.float32)
            text = encode_bank(raw, rng.integers(0, 25, m))
            bank = decode_bank(text)
            session = ort.InferenceSession(
                str(in_graph_model(bank.embeddings, Path(tmp) / f"knn{m}.onnx")),
                providers=["CPUExecutionProvider"],
            )
            for n in (1, 32):
                q = rng.normal(size=(n, D)).astype(np.float32)
                q /= np.linalg.norm(q, axis=1, keepdims=True)
                ours = knn_distances(q, bank, K)[0]
                graph = session.run(None, {"embedding": q})[0]
                assert np.allclose(ours, graph, atol=1e-4), "the two paths disagree"
                t_np = median_time(partial(knn_distances, q, bank, K), repeat)
                t_graph = median_time(partial(session.run, None, {"embedding": q}), repeat)
                rows.append(
                    (
                        f"{m} x {n}",
                        f"{t_np * 1000:.2f}",
                        f"{t_graph * 1000:.2f}",
                        f"{len(text) / 1024:.0f}",
                        f"{m * D * 2 / 1024:.0f}",
                    )
                )
            t_decode = median_time(partial(decode_bank, text), max(3, repeat // 10))
            rows.append(
                (f"{m}: read bank at model open", f"{t_decode * 1000:.1f}", "0 (initializer)", "", "")
            )
    print(f"k-NN open-set score, D = {D}, k = {K}, median of {repeat} (ms)")
    print(
        table(
            rows,
            ("bank rows x queries", "NumPy (ours)", "in ONNX graph", "metadata KiB", "initializer KiB"),
        )
    )


if __name__ == "__main__":
    main()

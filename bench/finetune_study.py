"""The seed's fine-tuning study on a pretrained start: how deep to unfreeze, learning rate, regularisation.

Every row is a full ``shellgui-train`` run with the same seed, hence the same held-out test specimens; the
choices between rows (best depth, best learning rate...) are made on **validation** photos, never on test.

    python bench/finetune_study.py ../shared/data/zhang8 --arch efficientnet_lite0 --image-size 160 \
        --out runs/study-zhang8

Prints a Markdown table (also written to OUT/table.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shellgui_train.cli import main as train


def run_row(name: str, base: list[str], extra: list[str], out: Path) -> dict[str, Any]:
    run_dir = out / name
    if not (run_dir / "summary.json").exists():
        code = train([*base, *extra, "--out", str(run_dir), f"--name={name}"])
        if code != 0:
            raise SystemExit(f"{name}: shellgui-train exited {code}")
    s = json.loads((run_dir / "summary.json").read_text())
    return {
        "row": name,
        "options": " ".join(extra),
        "val_top1": s["val"]["top1"],
        "val_f1": s["val"]["macro_f1"],
        "top1": s["test"]["top1"],
        "top3": s["test"]["top3"],
        "f1": s["test"]["macro_f1"],
        "n_test": s["n_test"],
        "best_epoch": s["best_epoch"],
        "minutes": s["train_seconds"] / 60,
    }


def best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Chosen on validation photos: top-1, then macro-F1, then the earlier (cheaper) row."""
    return max(rows, key=lambda r: (round(r["val_top1"], 4), round(r["val_f1"], 4), -rows.index(r)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data")
    p.add_argument("--arch", default="efficientnet_lite0")
    p.add_argument("--image-size", type=int, default=160)
    p.add_argument("--head-epochs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--patience", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--depths", default="0,15,30,60,all", help="top layers to unfreeze (0: head only)")
    p.add_argument("--lrs", default="1e-2,1e-3,1e-4")
    p.add_argument("--extra", default="", help="options added to every row (e.g. --hflip)")
    p.add_argument("--phases", default="depth,lr,reg,progressive")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    out = Path(args.out)
    base = [
        args.data,
        "--arch",
        args.arch,
        "--weights",
        "imagenet",
        "--image-size",
        str(args.image_size),
        "--head-epochs",
        str(args.head_epochs),
        "--epochs",
        str(args.epochs),
        "--patience",
        str(args.patience),
        "--batch-size",
        str(args.batch_size),
        "--threads",
        "1",
        "--seed",
        "0",
        *args.extra.split(),
    ]
    phases = args.phases.split(",")
    rows: list[dict[str, Any]] = []
    chosen: list[str] = []
    if "depth" in phases:
        depth_rows = []
        for depth in args.depths.split(","):
            n = "999" if depth == "all" else depth
            depth_rows.append(run_row(f"unfreeze-{depth}", base, ["--unfreeze", n], out))
        rows += depth_rows
        chosen = best(depth_rows)["options"].split() if depth_rows else []
    if "lr" in phases:
        lr_rows = [
            run_row(f"lr{lr}", base, [*chosen, "--finetune-lr", lr], out) for lr in args.lrs.split(",")
        ]
        rows += lr_rows
        chosen = best(lr_rows)["options"].split()
    if "reg" in phases:
        reg_rows = [run_row(f"dropout{d}", base, [*chosen, "--dropout", d], out) for d in ("0.2", "0.5")] + [
            run_row("wd0", base, [*chosen, "--weight-decay", "0"], out)
        ]
        rows += reg_rows
    if "progressive" in phases:
        rows.append(run_row("no-progressive", base, [*chosen, "--no-progressive"], out))
    lines = [
        f"Study on {args.data}: {args.arch}, ImageNet start, {args.image_size} px, {args.head_epochs} head "
        f"+ up to {args.epochs} fine-tuning epochs, seed 0 (the same held-out specimens in every row)",
        "",
        "| row | options | val top-1 | val F1 | test top-1 | test top-3 | test macro-F1 | best ep. | min |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['row']} | `{r['options']}` | {r['val_top1']:.3f} | {r['val_f1']:.3f} | {r['top1']:.3f} | "
            f"{r['top3']:.3f} | {r['f1']:.3f} | {r['best_epoch']} | {r['minutes']:.1f} |"
        )
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the bundled offline name backbone (``resources/taxonomy/mollusc_names.csv.gz``).

Input: the SeeShell name table (``finalShellInfo.csv``, MIT licence; names and AphiaIDs looked up in WoRMS,
CC BY 4.0), e.g. ``../shared/data/taxonomy``. Output: one row per name, synonyms and misspellings pointing
at their accepted name, with the accepted name's WoRMS AphiaID and family. Rows WoRMS did not resolve are
left out (the app treats those names as unknown). Run it again whenever the source table changes::

    python packaging/build_name_backbone.py ../shared/data/taxonomy
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import shutil
import sys
from collections import Counter
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parents[1] / "resources" / "taxonomy"
COLUMNS = [
    "name",
    "status",
    "accepted_name",
    "aphia_id",
    "accepted_aphia_id",
    "family",
    "habitat",
    "common_name",
]
MISSING = {"", "NA", "None", "nan"}


def clean(value: str | None) -> str:
    value = " ".join((value or "").split())
    return "" if value in MISSING else value


def build(source: Path) -> list[dict[str, str]]:
    with open(source / "finalShellInfo.csv", newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    rows: dict[str, dict[str, str]] = {}
    families: dict[str, Counter[str]] = {}
    accepted: dict[str, dict[str, str]] = {}
    for r in raw:
        name, acc = clean(r["ourName"]), clean(r["acceptedName"])
        acc_id = clean(r["acceptedAphiaID"])
        if not name or not acc or not acc_id.isdigit():
            continue  # not resolved in WoRMS: unknown
        family = clean(r["family"])
        if family:
            families.setdefault(acc, Counter())[family] += 1
        accepted.setdefault(
            acc,
            {"aphia_id": acc_id, "habitat": clean(r["habitat"]), "common_name": clean(r["commonName"])},
        )
        if name != acc:
            aphia = clean(r["aphiaID"])
            # WoRMS matched a misspelling to the accepted record itself; a synonym has its own AphiaID.
            status = "misspelling" if aphia == acc_id else "synonym"
            rows.setdefault(
                name,
                {
                    "name": name,
                    "status": status,
                    "accepted_name": acc,
                    "aphia_id": aphia if aphia.isdigit() else "",
                },
            )
    for acc, info in accepted.items():
        rows[acc] = {"name": acc, "status": "accepted", "accepted_name": acc, "aphia_id": info["aphia_id"]}
    out = []
    for name in sorted(rows):
        row = rows[name]
        info = accepted[row["accepted_name"]]
        family = families.get(row["accepted_name"], Counter()).most_common(1)
        out.append(
            {
                **row,
                "accepted_aphia_id": info["aphia_id"],
                "family": family[0][0] if family else "",
                "habitat": info["habitat"],
                "common_name": info["common_name"] if row["status"] == "accepted" else "",
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", type=Path, help="folder with finalShellInfo.csv, README.md and LICENSE.SeeShell"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    rows = build(args.source)
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives byte-identical output (a clean diff in git)
    with (
        open(args.out / "mollusc_names.csv.gz", "wb") as raw,
        gzip.GzipFile("mollusc_names.csv", "wb", 9, raw, mtime=0) as gz,
    ):
        gz.write(text.getvalue().encode("utf-8"))
    shutil.copyfile(args.source / "LICENSE.SeeShell", args.out / "LICENSE.SeeShell")
    counts = Counter(r["status"] for r in rows)
    print(
        f"{len(rows)} names ({', '.join(f'{n} {k}' for k, n in counts.most_common())}), "
        f"{len({r['family'] for r in rows if r['family']})} families -> {args.out / 'mollusc_names.csv.gz'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

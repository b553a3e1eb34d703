"""The ``shellgui`` command: with no arguments it opens the window; sub-commands work headless.

Exit status: 0 success, 1 when some inputs failed, 2 on usage errors. Errors are one line, never a
traceback. Heavy modules (NumPy, ONNX Runtime, SQLAlchemy, Qt) are imported only by the command that
needs them, so ``shellgui --help`` is instant.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from shellgui import __version__
from shellgui.core.percent import percent
from shellgui.core.text import display_path, one_line

if TYPE_CHECKING:
    from shellgui.core.settings import Settings

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
#: Stopped with Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]`` (0 or a negative number is refused, not replaced)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {low} to {high}")
        return value

    return parse


BATCH_SIZES = (1, 256)  # the same range as shellgui.core.identify.BATCH_SIZE_RANGE (checked by a test)
TOP_K = (1, 100)
#: --subjects: several shells found in one photo are separate specimens, or views of one specimen.
SEPARATE, VIEWS = "separate", "views"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shellgui",
        description="Identify mollusc shells from photos and keep a specimen catalogue. "
        "Run without a command to open the window.",
        epilog="User data lives in the platform's data folder; set SHELLGUI_HOME to move all of it. "
        "SHELLGUI_PROVIDER=cpu|cuda|auto overrides the execution provider.",
    )
    parser.add_argument("--version", action="version", version=f"shellgui {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what happens (providers, migrations)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="PATH_OR_URL", help="catalogue: SQLite file or SQLAlchemy URL")
    model_opt = argparse.ArgumentParser(add_help=False)
    model_opt.add_argument("--model", metavar="PATH", help="ONNX model (default: the bundled model)")
    model_opt.add_argument("--provider", choices=("auto", "cuda", "cpu"), help="execution provider")

    ident = sub.add_parser("identify", parents=[common, model_opt], help="identify one or more photos")
    ident.add_argument("photos", nargs="+", metavar="PHOTO")
    ident.add_argument("--specimen", action="store_true", help="the photos are views of one specimen")
    ident.add_argument(
        "--top-k", type=_int_in(*TOP_K), metavar="K", help="how many taxa to list, 1-100 (default 5)"
    )
    ident.add_argument(
        "--batch-size",
        type=_int_in(*BATCH_SIZES),
        metavar="N",
        help="photos decoded and identified together, 1-256 (default 8): memory stays bounded",
    )
    ident.add_argument("--json", action="store_true", help="print JSON instead of text")
    ident.add_argument(
        "--auto-crop",
        action="store_true",
        help="find the shells on a plain background and identify each (a photo where none stands out "
        "is identified whole)",
    )
    ident.add_argument(
        "--crop",
        metavar="X,Y,W,H",
        help="identify only this box of the photo (pixels of the upright photo); saved with the record",
    )
    ident.add_argument(
        "--subjects",
        choices=(SEPARATE, VIEWS),
        default=SEPARATE,
        help="with --auto-crop: several shells in one photo are separate specimens (default) or views "
        "of one specimen",
    )
    ident.add_argument("--no-record", action="store_true", help="do not store the result in the catalogue")
    ident.add_argument("--catalog-number", help="catalogue number of the specimen (with --specimen)")
    ident.add_argument("--locality")
    ident.add_argument("--collector")
    decide = ident.add_mutually_exclusive_group()
    decide.add_argument(
        "--accept",
        action="store_true",
        help="record the model's answer as checked by you (refused when the model is uncertain)",
    )
    decide.add_argument("--taxon", metavar="NAME", help="record NAME as checked by you")
    decide.add_argument(
        "--not-identifiable", action="store_true", help="record the specimen as not identifiable"
    )
    ident.add_argument("--by", metavar="NAME", help="who checked it (default: the name in the settings)")
    ident.add_argument(
        "--edit",
        action="store_true",
        help="for a photo already catalogued: replace its specimen data with the values given (logged)",
    )

    cat = sub.add_parser("catalog", parents=[common, model_opt], help="catalogue every photo in a folder")
    cat.add_argument("folder")
    cat.add_argument(
        "--batch-size",
        type=_int_in(*BATCH_SIZES),
        metavar="N",
        help="photos per model run, 1-256 (default 8)",
    )
    cat.add_argument("--restart", action="store_true", help="start a new run instead of resuming")
    cat.add_argument("--quiet", action="store_true", help="no progress bar")
    cat.add_argument(
        "--label-from-folder",
        action="store_true",
        help="record each photo's folder name (Genus_species) as a checked taxon (ValidatedByHuman)",
    )
    cat.add_argument(
        "--bind",
        metavar="PATTERN",
        help="attach photos to existing specimens by file name: 'MZ-{catalog}_{view}.jpg', "
        "a regex with (?P<catalog>...), or a CSV of file,catalogNumber",
    )
    cat.add_argument(
        "--by", metavar="NAME", help="who vouches for the labels (default: the name in the settings)"
    )
    cat.add_argument(
        "--auto-crop",
        action="store_true",
        help="find the shells on a plain background: each one becomes a specimen of its own, cropped "
        "(a photo where none stands out is catalogued whole)",
    )

    exp = sub.add_parser("export", parents=[common], help="export the catalogue (CSV or Darwin Core)")
    exp.add_argument("--format", choices=("csv", "dwc"), default="csv")
    exp.add_argument("out", metavar="OUT")
    exp.add_argument(
        "--checked-only",
        action="store_true",
        help="only specimens whose current identification a person checked (ValidatedByHuman)",
    )
    exp.add_argument(
        "--identified-from",
        metavar="YYYY-MM-DD",
        help="only specimens whose current identification (dateIdentified, UTC) is on or after this day",
    )
    exp.add_argument(
        "--identified-to",
        metavar="YYYY-MM-DD",
        help="only specimens whose current identification (dateIdentified, UTC) is on or before this day",
    )
    exp.add_argument(
        "--search",
        metavar="TEXT",
        default="",
        help="only specimens the Catalogue tab's search finds (taxon, catalogue number, locality, "
        "collector, notes, date)",
    )
    exp.add_argument(
        "--media-base-url",
        metavar="URL",
        help="Darwin Core: where the photos are published (associatedMedia = URL/file name)",
    )

    imp = sub.add_parser(
        "import",
        parents=[common],
        help="import existing records: CSV/TSV/XLSX (columns mapped) or a Darwin Core archive (.zip)",
    )
    imp.add_argument(
        "file",
        metavar="FILE",
        help="CSV/TSV/XLSX, a Darwin Core archive, or a folder of photos with XMP sidecars",
    )
    imp.add_argument("--mapping", metavar="JSON", help='column mapping {"catalogNumber": "Cat. No.", ...}')
    imp.add_argument("--save-mapping", metavar="JSON", help="write the mapping used (to edit and reuse)")
    imp.add_argument("--sheet", help="XLSX sheet (default: the first)")
    imp.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    imp.add_argument("--by", metavar="NAME", help="who is importing (default: the name in the settings)")

    side = sub.add_parser(
        "sidecars",
        parents=[common],
        help="write each catalogued photo's identification to an XMP sidecar (digiKam, Lightroom)",
    )
    side.add_argument("--checked-only", action="store_true", help="only checked identifications")

    names = sub.add_parser(
        "names",
        help="check or complete taxon names against the offline name backbone (WoRMS snapshot + your files)",
    )
    names.add_argument("names", nargs="*", metavar="NAME", help="names to check (exit 1 if any is unknown)")
    names.add_argument("--complete", metavar="TEXT", help="list names starting with (or containing) TEXT")
    names.add_argument("--add", metavar="CSV", help="add your own names file (a scientificName column, ...)")
    names.add_argument("--json", action="store_true", help="print JSON instead of text")

    sim = sub.add_parser(
        "similar",
        parents=[common, model_opt],
        help="similar specimens from your catalogue for a photo, or the catalogue's review flags",
    )
    sim.add_argument("photo", nargs="?", metavar="PHOTO")
    sim.add_argument("--count", type=int, default=6, metavar="N", help="how many specimens (default 6)")
    sim.add_argument(
        "--flags", action="store_true", help="list likely mislabels and near-duplicate photos instead"
    )
    sim.add_argument("--json", action="store_true", help="print JSON instead of text")

    log = sub.add_parser(
        "log", parents=[common], help="the audit log: who recorded, checked, edited, deleted or undid what"
    )
    log.add_argument("--specimen", type=int, metavar="ID", help="only this specimen")
    log.add_argument("--limit", type=int, default=50, metavar="N", help="how many lines (default 50)")
    log.add_argument("--json", action="store_true", help="print JSON (with the full record of deletes)")

    mod = sub.add_parser("models", help="list installed models, or show one model's card")
    mod.add_argument(
        "--card", metavar="MODEL", nargs="?", const="", help="print the card (default model if empty)"
    )
    mod.add_argument("--install", metavar="ONNX", help="copy a trained model into the models folder")
    return parser


def _fail(message: object) -> None:
    """Print one error line; file names and other untrusted text cannot break it or the terminal."""
    print(f"shellgui: error: {one_line(message)}", file=sys.stderr)


@functools.lru_cache(maxsize=1)
def _settings() -> Settings:
    """The user's settings, read once per command (so a bad field warns once)."""
    from shellgui.core.settings import Settings

    return Settings.load()


class LineProgress:
    """Progress for a log file or a pipe: a plain line at every tenth of the work and at the end, instead of
    a live bar's carriage-return updates (the same calls as :class:`tqdm.tqdm` that the commands use)."""

    def __init__(self, total: int, initial: int, desc: str) -> None:
        self.total, self.n, self.desc = total, initial, desc
        self.postfix: dict[str, object] = {}
        self._shown = -1

    def update(self, step: int) -> None:
        self.n += step
        tenth = self.n * 10 // max(1, self.total)
        if tenth > self._shown:
            self._shown = tenth
            self._line()

    def set_postfix(self, **values: object) -> None:
        self.postfix = values

    def _line(self) -> None:
        extra = ", ".join(f"{k} {v}" for k, v in self.postfix.items())
        print(
            f"{self.desc}: {self.n} of {self.total} photos" + (f" ({extra})" if extra else ""),
            file=sys.stderr,
        )

    def close(self) -> None:
        if self._shown < 10:
            self._line()


def progress_bar(total: int, initial: int, desc: str, quiet: bool = False):  # type: ignore[no-untyped-def]
    """A live bar on a terminal, plain lines in a log file or a pipe, nothing with ``quiet``."""
    from tqdm import tqdm

    if quiet or sys.stderr.isatty():
        return tqdm(total=total, initial=initial, unit="photo", disable=quiet, desc=desc, file=sys.stderr)
    return LineProgress(total, initial, desc)


def _classifier(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from shellgui.core.inference import Classifier
    from shellgui.core.models import resolve_model

    settings = _settings()
    path = resolve_model(args.model or settings.model or None)
    return Classifier(path, provider=args.provider or settings.provider, prefer_int8=settings.prefer_int8)


def _catalog(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from shellgui.core.catalog import Catalog

    return Catalog(args.db or _settings().catalog or None)


def cmd_identify(args: argparse.Namespace) -> int:
    from shellgui.core.catalog.curation import CurationError
    from shellgui.core.identify import (
        identify_box,
        identify_in_batches,
        identify_paths,
        identify_subjects,
        record,
    )
    from shellgui.core.inference.decision import SCORES_NOT_AN_ANSWER

    settings = _settings()
    top_k = args.top_k or settings.top_k
    deciding = args.accept or args.taxon is not None or args.not_identifiable
    if args.no_record and (deciding or args.edit):
        _fail("--accept, --taxon, --not-identifiable and --edit record in the catalogue; drop --no-record")
        return EXIT_USAGE
    by = None
    if deciding or args.edit:
        from shellgui.core.catalog.decisions import require_name

        by = require_name(args.by or settings.user_name)
    if args.taxon is not None:
        from shellgui.core.catalog.decisions import Decision

        Decision.named(args.taxon)  # an empty or over-long name is refused before the model runs
    if args.crop is not None and (args.auto_crop or args.specimen or len(args.photos) != 1):
        _fail("--crop takes exactly one photo, without --auto-crop or --specimen")
        return EXIT_USAGE
    box = None
    if args.crop is not None:
        from shellgui.core.crops import parse_crop

        box = parse_crop(args.crop)
    if args.auto_crop and args.specimen:
        _fail(
            "--specimen cannot be combined with --auto-crop; use --subjects views for the shells of one photo"
        )
        return EXIT_USAGE
    classifier = _classifier(args)
    if box is not None:
        batches = iter([identify_box(classifier, args.photos[0], box, top_k)])
    elif args.auto_crop:
        batches = identify_subjects(classifier, args.photos, as_views=args.subjects == VIEWS, top_k=top_k)
    elif args.specimen:
        batches = iter([identify_paths(classifier, args.photos, as_specimen=True, top_k=top_k)])
    else:
        batches = identify_in_batches(classifier, args.photos, args.batch_size or settings.batch_size, top_k)
    catalog = None
    out: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    problems: list[str] = []
    for _photos, outcome in batches:  # one batch of photos in memory at a time
        if catalog is None and not args.no_record and outcome.results:
            catalog = _catalog(args)
        for index, result in enumerate(outcome.results):
            shown = ", ".join(display_path(p) for p in result.paths)
            entry: dict[str, Any] = {"photos": [display_path(p) for p in result.paths], "specimen_id": None}
            subjects = outcome.photos_of(index)
            if args.auto_crop or box is not None:
                entry["crops"] = [p.crop.as_json() if p.crop else None for p in subjects]
                entry["subjects"] = [p.subject for p in subjects]
                entry["note"] = result.note
            if result.warning:
                entry["warning"] = one_line(result.warning)
                print(f"shellgui: warning: {one_line(result.warning)}", file=sys.stderr)
            if catalog is not None:
                fields = {
                    "catalog_number": args.catalog_number,
                    "locality": args.locality,
                    "collector": args.collector,
                }
                decision, undecided = _decision(args, result.prediction)
                if undecided:
                    problems.append(f"{shown}: {undecided} (recorded unchecked)")
                try:
                    done = record(
                        catalog,
                        classifier,
                        list(subjects),
                        result.prediction,
                        decision=decision,
                        by=by,
                        edit=args.edit,
                        **{k: v for k, v in fields.items() if v},
                    )
                except CurationError as exc:
                    problems.append(f"{shown}: {exc}")
                else:
                    entry.update(specimen_id=done.specimen_id, recorded=done.summary)
            entry.update(result.prediction.to_dict())
            memory = None
            if catalog is not None:
                from shellgui.core.memory import consult_collection

                memory = consult_collection(catalog, classifier, result.prediction, entry["specimen_id"])
                entry.update(memory.to_dict() if memory else {})
            if args.json:
                out.append(entry)
            else:
                print(shown + (f"  [{one_line(result.note)}]" if result.note else ""))
                print(f"  {one_line(result.prediction.summary)}")
                if result.prediction.not_known:
                    print(f"  {SCORES_NOT_AN_ANSWER}")
                for t in result.prediction.top_k:
                    print(f"    {percent(t.probability, 1):>7}  {one_line(t.name)}")
                if memory is not None:
                    _print_memory(memory)
                if entry.get("recorded"):
                    print(f"  catalogue: {one_line(entry['recorded'])}")
        for error in outcome.errors:
            errors.append({"path": display_path(error.path), "kind": error.kind, "message": error.reason})
            _fail(error)
    if args.json:
        model = {
            "name": classifier.name,
            "version": classifier.version,
            "provider": classifier.device,
            "precision": classifier.precision,
        }
        print(json.dumps({"model": model, "results": out, "errors": errors}, indent=2, ensure_ascii=False))
    elif len(args.photos) > len(errors):
        print(f"(model {one_line(classifier.name)} {one_line(classifier.version)} on {classifier.runs_on})")
    for problem in problems:
        _fail(problem)
    return EXIT_SOME_FAILED if errors or problems else EXIT_OK


def _decision(args: argparse.Namespace, prediction):  # type: ignore[no-untyped-def]
    """The person's decision asked for on the command line, and why there is none when it was refused."""
    from shellgui.core.catalog.decisions import Decision, UndecidedError
    from shellgui.core.determinations import checked_decision

    try:
        if args.accept:
            return Decision.accept(prediction.taxon, prediction.rank, prediction.score), None
        if args.not_identifiable:
            return Decision.not_identifiable(), None
        if args.taxon is not None:
            decision, check = checked_decision(args.taxon, prediction)
            if check is not None and not check.known:
                print(f"shellgui: warning: {check.note}", file=sys.stderr)
            elif check is not None and check.note:
                print(f"shellgui: note: {check.note}", file=sys.stderr)
            return decision, None
    except UndecidedError as exc:
        if args.taxon is not None:
            raise
        return None, f"{exc}; give --taxon NAME or --not-identifiable"
    return None, None


def _print_memory(memory) -> None:  # type: ignore[no-untyped-def]
    for candidate in memory.candidates:
        print(f"  {one_line(candidate.summary)}")
    if memory.similar:
        print("  similar specimens in your catalogue (checked first):")
    for s in memory.similar:
        mark = "checked" if s.checked else "machine"
        name = one_line(s.taxon or "no taxon")
        number = one_line(s.catalog_number or f"specimen {s.specimen_id}")
        print(f"    {s.distance:6.3f}  {name} [{mark}]  {number}  {display_path(s.photo_path)}")


def cmd_similar(args: argparse.Namespace) -> int:

    from shellgui.core.catalog.repository import find_photo_by_hash
    from shellgui.core.errors import UsageError
    from shellgui.core.identify import identify_paths
    from shellgui.core.imaging import file_sha256
    from shellgui.core.memory import consult_collection, embed_missing_photos
    from shellgui.core.review_flags import review_flags

    if args.count < 1:
        raise UsageError("--count must be at least 1")
    if not args.flags and not args.photo:
        raise UsageError("give a PHOTO, or --flags for the catalogue's review flags")
    classifier = _classifier(args)
    if not classifier.has_embedding:
        raise UsageError(
            f"the model {classifier.name} {classifier.version} has no embedding output, so it cannot compare "
            "photos; use a model trained with this shellgui-train"
        )
    catalog = _catalog(args)
    bar = None
    unreadable = 0
    for done, unreadable, total in embed_missing_photos(catalog, classifier):
        if bar is None:
            bar = progress_bar(total, 0, "Embedding catalogued photos")
        bar.update(done + unreadable - bar.n)
    if bar is not None:
        bar.close()
    if unreadable:
        print(
            f"shellgui: warning: {unreadable} of {total} catalogued photos without a stored embedding could "
            "not be read (moved, deleted, or on a drive not connected?): they are left out, and tried again "
            "next time",
            file=sys.stderr,
        )
    if args.flags:
        flags = review_flags(catalog, classifier.sha256)
        if args.json:
            print(json.dumps({"flags": [f.to_dict() for f in flags]}, indent=2, ensure_ascii=False))
        else:
            for flag in flags:
                print(one_line(flag.message))
            print(f"{len(flags)} review flags (model {classifier.name} {classifier.version})")
        return EXIT_OK
    _photos, outcome = identify_paths(classifier, [args.photo])
    if not outcome.results:
        for error in outcome.errors:
            _fail(str(error))
        return EXIT_SOME_FAILED
    prediction = outcome.results[0].prediction
    with catalog.session() as session:  # a photo already catalogued is not its own similar specimen
        same = find_photo_by_hash(session, file_sha256(args.photo))
        own = same.specimen_id if same is not None else None
    memory = consult_collection(catalog, classifier, prediction, exclude_specimen=own, count=args.count)
    assert memory is not None
    if args.json:
        body = {"photo": args.photo, "answer": prediction.to_dict(), **memory.to_dict()}
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        print(display_path(args.photo))
        print(f"  {one_line(prediction.summary)}")
        _print_memory(memory)
        if not memory.similar:
            print("  no catalogued photo to compare with yet")
    return EXIT_OK


def cmd_catalog(args: argparse.Namespace) -> int:
    import threading
    from collections import Counter
    from pathlib import Path

    from shellgui.core.batch import CANCELLED, DONE, DUPLICATE, FAILED, catalogue_folder, failed_items
    from shellgui.core.binding import PhotoBinder
    from shellgui.core.catalog.decisions import require_name

    settings = _settings()
    batch_size = args.batch_size or settings.batch_size
    classifier = _classifier(args)
    catalog = _catalog(args)
    cancel = threading.Event()
    bar = None
    last = None
    label_by = require_name(args.by or settings.user_name) if args.label_from_folder else None
    binder = PhotoBinder.parse(args.bind) if args.bind else None
    label_notes: list[str] = []
    crop_lines: list[str] = []
    labelled: Counter[str] = Counter()
    mine: Counter[str] = Counter()  # what this command settled (a run may be shared or resumed)
    try:
        for progress in catalogue_folder(
            catalog,
            classifier,
            args.folder,
            batch_size=batch_size,
            cancel=cancel,
            resume=not args.restart,
            top_k=settings.top_k,
            label_by=label_by,
            bind=binder,
            auto_crop=args.auto_crop,
            by=args.by or settings.user_name or None,
        ):
            for item in progress.items:
                mine[item.status] += item.subject == 0  # the run counts photos, not subjects
                if args.auto_crop:
                    crop_lines.append(_subject_line(item))
                if item.label_note:
                    label_notes.append(f"{item.path}: {item.label_note}")
                elif label_by and item.status in (DONE, DUPLICATE):
                    labelled[Path(item.path).parent.name] += 1
            if bar is None:
                bar = progress_bar(progress.total, progress.settled, "Cataloguing", args.quiet)
            bar.set_postfix(done=progress.done, failed=progress.failed, skipped=progress.skipped)
            bar.update(progress.settled - bar.n)
            last = progress
    except KeyboardInterrupt:
        if bar:
            bar.close()
        print(
            "\nInterrupted: finished photos are saved; run the same command again to resume.", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    if bar:
        bar.close()
    assert last is not None
    print(
        one_line(
            f"{last.done} catalogued, {last.skipped} already in the catalogue, {last.failed} failed "
            f"(run {last.run_id}, model {classifier.name} {classifier.version} on {classifier.runs_on}, "
            f"catalogue {catalog.display_name})"
        )
    )
    if (mine[DONE], mine[DUPLICATE], mine[FAILED]) != (last.done, last.skipped, last.failed):
        print(
            f"  this command: {mine[DONE]} catalogued, {mine[DUPLICATE]} already in the catalogue, "
            f"{mine[FAILED]} failed; the rest of run {last.run_id} by an earlier or simultaneous command"
        )
    for line in crop_lines:
        print(line)
    if label_by:
        _print_folder_labels(labelled, label_by)
    for note in label_notes:
        print(f"shellgui: warning: {note}", file=sys.stderr)
    for path, reason in failed_items(catalog, last.run_id):
        _fail(f"{path}: {reason}")
    if last.state == CANCELLED:
        return EXIT_SOME_FAILED
    return EXIT_SOME_FAILED if last.failed else EXIT_OK


def _subject_line(item) -> str:  # type: ignore[no-untyped-def]
    """One line per catalogued subject of ``catalog --auto-crop``."""
    where = display_path(item.path)
    if item.subjects > 1:
        where += f" [subject {item.subject + 1} of {item.subjects}]"
    if item.crop_note:
        where += f" [{item.crop_note}]"
    if item.specimen_id is None:
        return one_line(f"{where}: {item.status}" + (f" ({item.reason})" if item.reason else ""))
    what = item.taxon or "uncertain" if item.status == "done" else f"{item.status}, {item.reason}"
    return one_line(f"{where}: specimen {item.specimen_id}, {what}")


def _print_folder_labels(counts: dict[str, int], by: str) -> None:
    """One line per folder label: how many photos carry it and what the name backbone said about it."""
    from shellgui.core.taxonomy import load_backbone

    backbone = load_backbone()
    print(f"Photos labelled with their folder name (checked by {by} unless checked before):")
    for name, n in sorted(counts.items()):
        check = backbone.check(name)
        mark = check.status if check.known else "UNKNOWN name, marked in the remarks"
        print(f"  {n:5d}  {name} -> {check.name} ({mark}{', ' + check.family if check.family else ''})")


def _day(text: str | None, option: str):  # type: ignore[no-untyped-def]
    """A day given as YYYY-MM-DD (a UTC date, as identifications are stored), or ``None``."""
    from datetime import datetime

    from shellgui.core.errors import UsageError

    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"{option} {text!r}: give a day as YYYY-MM-DD") from None


def _export_filter(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from shellgui.core.catalog import VALIDATED
    from shellgui.core.catalog.browse import SpecimenFilter
    from shellgui.core.errors import UsageError

    start = _day(args.identified_from, "--identified-from")
    end = _day(args.identified_to, "--identified-to")
    if start and end and end < start:
        raise UsageError(
            f"--identified-to {args.identified_to} is before --identified-from {args.identified_from}"
        )
    return SpecimenFilter(
        text=args.search.strip(),
        status=VALIDATED if args.checked_only else None,
        identified_since=start,
        identified_before=end + timedelta(days=1) if end else None,
    )


def cmd_export(args: argparse.Namespace) -> int:
    from shellgui.core.dwc import options_from_settings
    from shellgui.core.export import export

    options = options_from_settings(_settings(), args.media_base_url) if args.format == "dwc" else None
    count = export(_catalog(args), args.format, args.out, options, _export_filter(args))
    print(f"Exported {count} specimen{'' if count == 1 else 's'} to {display_path(args.out)}")
    return EXIT_OK


def cmd_log(args: argparse.Namespace) -> int:
    from shellgui.core.catalog import queries

    entries = queries.audit_log(_catalog(args), specimen_id=args.specimen, limit=max(1, args.limit))
    if args.json:
        rows = [
            {
                "id": e.id,
                "at": e.at.isoformat(timespec="seconds"),
                "by": e.by,
                "action": e.action,
                "specimen_id": e.specimen_id,
                "summary": e.summary,
                "undone_by": e.undone_by_id,
                "details": e.details,
            }
            for e in entries
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not entries:
        print("The audit log is empty.")
    for e in reversed(entries):
        undone = " (undone)" if e.undone_by_id is not None else ""
        print(f"{e.at:%Y-%m-%d %H:%M:%S}  #{e.id:<5} {e.by}: {e.summary}{undone}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from shellgui.core.catalog.decisions import require_name
    from shellgui.core.importing import apply_import, plan_import, read_records
    from shellgui.core.importing.tables import save_mapping

    table = read_records(args.file, args.mapping, args.sheet)
    by = None if args.dry_run else require_name(args.by or _settings().user_name)
    print(f"{len(table.records)} records in {args.file}; columns read:")
    for term, header in table.mapping.items():
        print(f"  {term:<33} <- {header}")
    if table.unmapped:
        print(f"  not read: {', '.join(table.unmapped)}")
    if args.save_mapping:
        save_mapping(table.mapping, args.save_mapping)
        print(f"Mapping saved to {args.save_mapping}")
    catalog = _catalog(args)
    plan = plan_import(catalog, table)
    for change in plan.changes:
        if change.changes_something:
            print(("would " if args.dry_run else "") + change.summary())
        for note in change.notes:
            print(f"shellgui: warning: {change.label}: {note}", file=sys.stderr)
    if not args.dry_run:
        apply_import(catalog, plan, by)
    verb = "Would import" if args.dry_run else "Imported"
    print(
        f"{verb}: {plan.new} new specimens, {plan.updated} updated, {plan.unchanged} unchanged, "
        f"{len(plan.conflicts)} conflicts, {len(plan.skipped)} records skipped "
        f"(catalogue {catalog.display_name})"
    )
    for conflict in plan.conflicts:
        _fail(f"conflict: {conflict}")
    for skipped in plan.skipped:
        _fail(f"skipped {skipped}")
    return EXIT_SOME_FAILED if plan.conflicts or plan.skipped else EXIT_OK


def cmd_sidecars(args: argparse.Namespace) -> int:
    from shellgui.core.sidecars import write_catalogue_sidecars

    written, missing = write_catalogue_sidecars(_catalog(args), checked_only=args.checked_only)
    print(f"Wrote {written} XMP sidecars (photo.jpg.xmp next to each photo; the photos are not touched)")
    for path in missing:
        _fail(f"{path}: the photo is no longer there: no sidecar written")
    return EXIT_SOME_FAILED if missing else EXIT_OK


def cmd_names(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from shellgui.core.errors import UsageError
    from shellgui.core.taxonomy import add_user_names, load_backbone

    if not (args.names or args.complete or args.add):
        raise UsageError("give names to check, --complete TEXT or --add CSV")
    if args.add:
        target, count = add_user_names(args.add)
        print(f"Added {count} names from {args.add} (kept as {target})")
    backbone = load_backbone()
    if args.complete:
        for name in backbone.complete(args.complete, limit=50):
            print(name)
    checks = [backbone.check(name) for name in args.names]
    if args.json:
        print(json.dumps([{**asdict(c), "note": c.note} for c in checks], indent=2, ensure_ascii=False))
    else:
        for c in checks:
            ranks = ", ".join(f"{k} {v}" for k, v in c.ranks.items() if k != "genus")
            print(f"{c.typed}: {c.status}" + ("" if c.name == c.typed else f" -> {c.name}"))
            if c.known:
                print(f"    {c.rank}; {ranks}" + (f"; {c.name_id}" if c.name_id else "") + f" [{c.source}]")
    unknown = [c.typed for c in checks if not c.known]
    for name in unknown:
        _fail(f"{name}: not in the name backbone (it can still be recorded, marked as unchecked)")
    return EXIT_SOME_FAILED if unknown else EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shellgui.core.models import (
        install_model,
        installed_models,
        open_set_words,
        read_card_from_file,
        resolve_model,
    )

    if args.install:
        target = install_model(Path(args.install))
        print(f"Installed {display_path(target)}")
        return EXIT_OK
    if args.card is not None:
        card = read_card_from_file(resolve_model(args.card or None))
        print(json.dumps(json.loads(card.to_json()), indent=2, ensure_ascii=False))
        return EXIT_OK
    models = installed_models()
    if not models:
        print("No models found.")
        return EXIT_SOME_FAILED
    for i, m in enumerate(models):
        mark = "*" if i == 0 and m.bundled else " "
        print(f"{mark} {one_line(m.label)}\n    {display_path(m.path)}")
        if m.card:
            shown = (("test_top1", "top-1"), ("test_top3", "top-3"), ("test_macro_f1", "macro-F1"))
            metrics = ", ".join(f"{name} {m.card.metrics[k]:.3f}" for k, name in shown if k in m.card.metrics)
            if "test_photos" in m.card.metrics:
                metrics += f" on {int(m.card.metrics['test_photos'])} held-out photos"
            print(f"    {m.card.num_classes} taxa; {metrics or 'no metrics recorded'}")
            print(f"    {open_set_words(m.card)}")
    return EXIT_OK


COMMANDS = {
    "identify": cmd_identify,
    "catalog": cmd_catalog,
    "export": cmd_export,
    "log": cmd_log,
    "import": cmd_import,
    "sidecars": cmd_sidecars,
    "names": cmd_names,
    "models": cmd_models,
    "similar": cmd_similar,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``shellgui`` and ``python -m shellgui``."""
    _settings.cache_clear()  # read afresh by each command, also when called in-process
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="shellgui: %(levelname)s: %(message)s"
    )
    if args.command is None:
        from shellgui.app import main as gui_main

        return gui_main()
    from sqlalchemy.exc import SQLAlchemyError

    from shellgui.core.catalog.database import explain_db_error
    from shellgui.core.errors import ShellguiError, UsageError

    try:
        return COMMANDS[args.command](args)
    except SQLAlchemyError as exc:
        _fail(str(explain_db_error(exc, getattr(args, "db", None) or "catalogue")))
        return EXIT_SOME_FAILED
    except UsageError as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except ShellguiError as exc:
        _fail(str(exc))
        return EXIT_SOME_FAILED
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return EXIT_SOME_FAILED

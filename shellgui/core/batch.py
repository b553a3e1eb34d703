"""Catalogue a whole folder of photos: a generator that yields progress, honours a cancel event and resumes.

Decoding and hashing run in worker threads while the model runs batches on the calling thread. Every
batch is committed in its own short transaction together with the run's bookkeeping, so a cancel or a
``kill -9`` loses at most the batch in flight, and resuming never redoes a finished photo. Several
processes may catalogue overlapping folders (or resume the same run) at once: writers take turns, and
photos and run items are claimed with ``INSERT ... ON CONFLICT DO NOTHING``, so each photo is stored once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shellgui.core.binding import NO_MATCH, PhotoBinder
from shellgui.core.catalog import claims
from shellgui.core.catalog import repository as repo
from shellgui.core.catalog.curation import decide_in, log_catalogue_run
from shellgui.core.catalog.database import Catalog
from shellgui.core.catalog.embeddings import store_embedding
from shellgui.core.catalog.schema import VALIDATED, CatalogRun, Photo, RunItem, Specimen, utcnow
from shellgui.core.crops import Crop
from shellgui.core.determinations import checked_decision
from shellgui.core.errors import PhotoError, UsageError
from shellgui.core.identify import BATCH_SIZE_RANGE, subject_photos
from shellgui.core.imaging import (
    PHOTO_EXTENSIONS,
    PhotoInfo,
    decoded_pixels,
    is_photo_name,
    make_thumbnail,
    open_photo,
    read_photo_file,
)
from shellgui.core.imaging import Photo as DecodedPhoto
from shellgui.core.inference.classifier import Classifier
from shellgui.core.inference.decision import Prediction
from shellgui.core.taxonomy import NameBackbone, load_backbone

DONE, FAILED, DUPLICATE = "done", "failed", "duplicate"
RUNNING, CANCELLED, COMPLETED = "running", "cancelled", "completed"


@dataclass(frozen=True)
class ItemResult:
    """What happened to one file."""

    path: str
    status: str
    reason: str | None = None
    specimen_id: int | None = None
    taxon: str | None = None
    score: float | None = None
    certainty: str | None = None
    label_note: str | None = None  # why a folder label was not recorded
    #: With auto-crop: which subject of the photo this is, of how many, its crop, and why the whole
    #: photo was used when no subject was found.
    subject: int = 0
    subjects: int = 1
    crop: Crop | None = None
    crop_note: str | None = None


@dataclass(frozen=True)
class BatchProgress:
    """A progress record, yielded after each committed batch and at the end.

    Attributes:
        state: ``"running"``, ``"cancelled"`` or ``"completed"``.
        items: the files settled since the previous record.
        eta_s: estimated seconds left (``None`` until there is a rate).
    """

    run_id: int
    state: str
    total: int
    done: int
    failed: int
    skipped: int
    elapsed_s: float
    eta_s: float | None
    items: tuple[ItemResult, ...] = field(default_factory=tuple)

    @property
    def settled(self) -> int:
        return self.done + self.failed + self.skipped


@dataclass(frozen=True)
class FolderLabels:
    """Record each photo's folder name as a checked taxon (a collection already sorted by species).

    Attributes:
        root: the catalogued folder; photos directly in it get no label.
        by: the person vouching for the sorting (``identifiedBy``).
        backbone: names to check the folder names against.
    """

    root: str
    by: str
    backbone: NameBackbone

    def label(self, path: str) -> str | None:
        """The folder name that labels ``path`` (``Bolinus_brandaris``), or None for a photo in the root."""
        parent = Path(path).parent
        return None if parent == Path(self.root) else parent.name


NO_LABEL = "lies directly in the catalogued folder: no folder name to label it with"


def _label(session: Session, labels: FolderLabels, specimen_id: int, path: str) -> str | None:
    """Record the folder label unless someone already checked the specimen; returns a note or None."""
    name = labels.label(path)
    if name is None:
        return NO_LABEL
    decision, _ = checked_decision(name, backbone=labels.backbone, remarks="from its folder name")
    current = repo.current_identification(session, specimen_id)
    if current is not None and current.verification_status == VALIDATED:
        if current.taxon == decision.taxon:
            return None
        return f"not labelled {name!r}: already checked as {current.taxon or 'not identifiable'}"
    decide_in(session, specimen_id, decision, labels.by)
    return None


@dataclass
class _Loaded:
    path: str
    sha256: str | None = None
    pixel_sha256: str | None = None
    size: int = 0
    info: PhotoInfo | None = None
    array: np.ndarray | None = None
    thumbnail: bytes | None = None
    error: str | None = None
    duplicate: bool = False
    #: Auto-crop: subject 0's crop (``array`` and ``thumbnail`` are subject 0's), the further subjects
    #: (crop, array, thumbnail), and why the whole photo is used when nothing was found.
    crop: Crop | None = None
    more: list[tuple[Crop, np.ndarray, bytes]] = field(default_factory=list)
    crop_note: str | None = None


def find_photos(folder: str | os.PathLike[str]) -> list[str]:
    """Photo files under ``folder``, recursively, sorted; hidden files and folders are skipped and
    symbolic links to folders are not followed (so link loops cannot trap the walk)."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{folder}: not a folder")
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or not is_photo_name(Path(name)):
                continue
            found.append(str(Path(dirpath, name).absolute()))
    return sorted(found)


#: A photo that decodes to more pixels than this is prepared by one worker at a time: while it is prepared
#: it takes about 9 bytes a pixel (the decoded RGB and its working copies), so two 196 MP PNGs at once
#: took 3.2 GB. Camera JPEGs decode reduced and stay far below it, so they still decode in parallel.
LARGE_PHOTO_PIXELS = 40_000_000
_one_large_photo = threading.Lock()


def _load(
    path: str, classifier: Classifier, known_hashes: frozenset[str], auto_crop: bool = False
) -> _Loaded:
    """Hash, decode and prepare one file on a worker thread (with ``auto_crop``, each of its subjects).
    Whatever goes wrong is this file's failure, recorded with its reason: never an exception that would
    stop the run."""
    item = _Loaded(path)
    try:
        source = read_photo_file(path)  # read once (never a FIFO or device): hashed, then decoded
        item.sha256, item.size = source.sha256, source.size
        if item.sha256 in known_hashes:
            item.duplicate = True
            return item
        # Subjects are often small: auto-crop decodes the whole resolution.
        min_side = None if auto_crop else classifier.min_decode_side
        large = decoded_pixels(source, min_side) > LARGE_PHOTO_PIXELS
        with _one_large_photo if large else contextlib.nullcontext():
            _prepare(item, open_photo(source, min_side=min_side), classifier, auto_crop)
    except PhotoError as exc:
        item.error = exc.reason
    except OSError as exc:
        item.error = f"cannot be read ({exc.strerror or exc})"
    except MemoryError:
        item.error = "not enough memory to prepare this photo"
    except Exception as exc:  # a decoder or preprocessing bug on a hostile file
        item.error = f"the photo cannot be prepared ({type(exc).__name__}: {str(exc)[:120]})"
    if item.error is not None:
        item.array = item.thumbnail = None
        item.more = []
    return item


def _prepare(item: _Loaded, photo: DecodedPhoto, classifier: Classifier, auto_crop: bool) -> None:
    """The model's input array(s) and thumbnail(s) of a decoded photo; the full-size pixels are let go."""
    item.info, item.pixel_sha256 = photo.info, photo.pixel_sha256
    if auto_crop:
        subjects, found = subject_photos(photo)
        photo, item.crop, item.crop_note = subjects[0], subjects[0].crop, found.note
        item.more = [(p.crop, classifier.prepare(p), make_thumbnail(p.image)) for p in subjects[1:] if p.crop]
    item.array = classifier.prepare(photo)
    item.thumbnail = make_thumbnail(photo.image)


def _open_run(
    catalog: Catalog, folder: str, classifier: Classifier, resume: bool, by: str | None
) -> tuple[int, set[str]]:
    """The unfinished run of this folder and model to resume (and the paths it settled), or a new run."""

    def work(session: Session) -> tuple[int, set[str]]:
        run = None
        if resume:
            run = session.scalar(
                select(CatalogRun)
                .where(
                    CatalogRun.folder == folder,
                    CatalogRun.status != COMPLETED,
                    CatalogRun.model_sha256 == classifier.sha256,
                )
                .order_by(CatalogRun.id.desc())
                .limit(1)
            )
        if run is None:
            run = CatalogRun(
                folder=folder,
                model_name=classifier.name,
                model_version=classifier.version,
                model_sha256=classifier.sha256,
                status=RUNNING,
                total=0,
                done=0,
                failed=0,
                skipped=0,
            )
            session.add(run)
            session.flush()
            model = f"{classifier.name} {classifier.version}"
            summary = f"started cataloguing {folder} with {model} (run {run.id})"
            log_catalogue_run(session, by, summary, run.id)
            return run.id, set()
        run.status = RUNNING
        settled = set(session.scalars(select(RunItem.path).where(RunItem.run_id == run.id)))
        summary = f"resumed cataloguing {folder} (run {run.id}, {len(settled)} photos already settled)"
        log_catalogue_run(session, by, summary, run.id)
        return run.id, settled

    return catalog.write(work)


def _bound_specimen(session: Session, binder: PhotoBinder, path: str) -> Specimen | str:
    """The existing specimen a photo's name binds it to, or why there is none."""
    numbers = binder.candidates(path)
    if not numbers:
        return NO_MATCH
    for number in numbers:
        specimen = session.scalar(select(Specimen).where(Specimen.catalog_number == number))
        if specimen is not None:
            return specimen
    return f"matches no record: catalogue number {' or '.join(numbers)} is not in the catalogue"


def _commit(
    catalog: Catalog,
    run_id: int,
    classifier: Classifier,
    loaded: list[_Loaded],
    top_k: int,
    total: int,
    labels: FolderLabels | None = None,
    binder: PhotoBinder | None = None,
) -> tuple[list[ItemResult], CatalogRun]:
    """Identify the decoded photos of a batch and record everything in one transaction."""
    good = [x for x in loaded if x.array is not None and not x.duplicate]
    arrays = [a for x in good for a in [x.array, *(m[1] for m in x.more)] if a is not None]
    answers = iter(classifier.predict(arrays, top_k) if arrays else [])
    predictions = {id(x): [next(answers) for _ in range(1 + len(x.more))] for x in good}
    stamp = repo.ModelStamp(classifier.name, classifier.version, classifier.sha256)
    # One order for every writer, copies after the photo they copy.
    ordered = sorted(loaded, key=lambda x: (x.duplicate, x.sha256 or "", x.path))

    def work(session: Session) -> tuple[list[ItemResult], CatalogRun]:
        settle = _Settle(session, run_id, stamp, labels, binder)
        settled = [r for item in ordered for r in settle.subjects(item, predictions.get(id(item), []))]
        claims.recount_run(session, run_id, total, (DONE, FAILED, DUPLICATE))
        run = session.get(CatalogRun, run_id)
        assert run is not None
        session.refresh(run)
        session.expunge(run)
        return [r for r in settled if r is not None], run

    return catalog.write(work)


@dataclass
class _Settle:
    """Records one file of a run inside the batch's transaction; ``None`` when another process running
    the same run settled that file first."""

    session: Session
    run_id: int
    stamp: repo.ModelStamp
    labels: FolderLabels | None
    binder: PhotoBinder | None

    def subjects(self, item: _Loaded, predictions: list[Prediction]) -> list[ItemResult | None]:
        """Settle a file, then each further subject of it (auto-crop) as a specimen of its own."""
        first = self(item, predictions[0] if predictions else None)
        if first is None or first.status != DONE or not item.more:
            return [first]
        count = 1 + len(item.more)
        results: list[ItemResult | None] = [dataclasses.replace(first, subjects=count)]
        for index, ((crop, _, thumbnail), prediction) in enumerate(zip(item.more, predictions[1:]), 1):
            results.append(self.subject(item, index, count, crop, thumbnail, prediction))
        return results

    def subject(
        self, item: _Loaded, index: int, count: int, crop: Crop, thumbnail: bytes, prediction: Prediction
    ) -> ItemResult:
        """One further subject of a file already settled: its own photo row and specimen."""
        session = self.session
        assert item.info is not None and item.sha256 is not None
        known = claims.find_photo(session, item.sha256, item.pixel_sha256, item.path, item.size, index)
        if known is not None:
            return ItemResult(
                item.path, DUPLICATE, claims.SAME, known.specimen_id, subject=index, subjects=count
            )
        specimen = repo.add_specimen(session)
        photo_id = claims.insert_photo(
            session,
            specimen.id,
            item.path,
            item.sha256,
            item.pixel_sha256,
            item.size,
            item.info,
            thumbnail,
            subject=index,
            crop=crop.as_json(),
        )
        if photo_id is None:  # another writer stored this subject a moment ago
            session.execute(delete(Specimen).where(Specimen.id == specimen.id))
            return ItemResult(item.path, DUPLICATE, claims.SAME, subject=index, subjects=count)
        repo.add_machine_identification(session, specimen.id, prediction, self.stamp, run_id=self.run_id)
        return self.done(
            item.path, specimen.id, photo_id, prediction, subject=index, subjects=count, crop=crop
        )

    def __call__(self, item: _Loaded, prediction: Prediction | None) -> ItemResult | None:
        session = self.session
        if item.duplicate:
            known = (
                claims.find_photo(session, item.sha256, None, item.path, item.size) if item.sha256 else None
            )
            return self.duplicate(item, known)
        if item.array is None or prediction is None:
            return self.failed(item.path, item.error)
        assert item.info is not None and item.sha256 is not None
        bound = _bound_specimen(session, self.binder, item.path) if self.binder is not None else None
        if isinstance(bound, str):
            return self.failed(item.path, bound)
        claimed = claims.claim_run_item(session, self.run_id, item.path, DONE)
        if claimed is None:
            return None
        known = claims.find_photo(session, item.sha256, item.pixel_sha256, item.path, item.size)
        if known is None:
            specimen = bound or repo.add_specimen(session)
            photo_id = claims.insert_photo(
                session,
                specimen.id,
                item.path,
                item.sha256,
                item.pixel_sha256,
                item.size,
                item.info,
                item.thumbnail,
                crop=item.crop.as_json() if item.crop is not None else None,
            )
            if photo_id is None:  # stored by another writer a moment ago (one that does not take turns)
                if bound is None:
                    session.execute(delete(Specimen).where(Specimen.id == specimen.id))
                known = claims.find_photo(session, item.sha256, item.pixel_sha256, item.path, item.size)
        if known is not None:
            session.execute(delete(RunItem).where(RunItem.id == claimed))
            return self.duplicate(item, known)
        current = repo.current_identification(session, specimen.id) if bound else None
        if current is None or current.verification_status != VALIDATED:  # never over a check
            repo.add_machine_identification(session, specimen.id, prediction, self.stamp, run_id=self.run_id)
        assert photo_id is not None
        session.execute(update(RunItem).where(RunItem.id == claimed).values(photo_id=photo_id))
        return self.done(
            item.path, specimen.id, photo_id, prediction, crop=item.crop, crop_note=item.crop_note
        )

    def done(
        self,
        path: str,
        specimen_id: int,
        photo_id: int,
        prediction: Prediction,
        *,
        subject: int = 0,
        subjects: int = 1,
        crop: Crop | None = None,
        crop_note: str | None = None,
    ) -> ItemResult:
        """A stored photo's result, once its embedding is kept (similar-specimen search) and its folder
        label, if any, recorded."""
        if prediction.embeddings is not None:
            store_embedding(self.session, photo_id, self.stamp.sha256, prediction.embeddings[0])
        note = _label(self.session, self.labels, specimen_id, path) if self.labels is not None else None
        taxon, score, certainty = prediction.taxon, prediction.score, prediction.certainty
        return ItemResult(
            path, DONE, None, specimen_id, taxon, score, certainty, note, subject, subjects, crop, crop_note
        )

    def failed(self, path: str, reason: str | None) -> ItemResult | None:
        if claims.claim_run_item(self.session, self.run_id, path, FAILED, reason) is None:
            return None
        return ItemResult(path, FAILED, reason)

    def duplicate(self, item: _Loaded, known: claims.KnownPhoto | None) -> ItemResult | None:
        how = known.how if known else claims.SAME
        reason = claims.SAME if how == claims.SAME else f"same photo, {how}"
        photo_id = known.photo_id if known else None
        if claims.claim_run_item(self.session, self.run_id, item.path, DUPLICATE, reason, photo_id) is None:
            return None
        specimen_id = known.specimen_id if known else None
        note = (
            _label(self.session, self.labels, specimen_id, item.path)
            if self.labels is not None and specimen_id is not None
            else None
        )
        return ItemResult(item.path, DUPLICATE, reason, specimen_id, label_note=note)


def catalogue_folder(
    catalog: Catalog,
    classifier: Classifier,
    folder: str | os.PathLike[str],
    batch_size: int = 8,
    cancel: threading.Event | None = None,
    resume: bool = True,
    workers: int = 2,
    top_k: int = 5,
    label_by: str | None = None,
    bind: PhotoBinder | None = None,
    auto_crop: bool = False,
    by: str | None = None,
) -> Iterator[BatchProgress]:
    """Identify and catalogue every photo under ``folder``.

    Args:
        catalog: the open catalogue.
        classifier: the loaded model.
        folder: the folder to walk (recursively).
        batch_size: photos per model run and per transaction.
        cancel: set it to stop after the batch in flight; the run can be resumed later.
        resume: continue the newest unfinished run of this folder and model instead of starting anew.
        workers: decoding threads.
        top_k: taxa kept per identification.
        label_by: record each photo's folder name as a checked taxon (``ValidatedByHuman``) by this
            person, after the model's answer; photos already in the catalogue are labelled too, unless
            someone already checked them (then the disagreement is reported in the item's reason).
        bind: attach each photo to the existing specimen its file name names (several views each) instead
            of making a specimen per photo; a photo that names no catalogued specimen fails with the reason.
        auto_crop: crop each photo to its subjects on a plain background
            (:func:`shellgui.core.autocrop.find_subjects`) and catalogue **each subject as a specimen of
            its own** (a photo row per subject, with its crop): the catalogue never fuses photos unless
            told. A photo where nothing stands out is catalogued whole, with the reason in ``crop_note``.
        by: who runs it, for the audit log's entries at the run's start and end (``label_by`` when not
            given; "unknown" when neither is).

    Yields:
        :class:`BatchProgress` after each committed batch; the last one has state ``completed`` or
        ``cancelled``.
    """
    low, high = BATCH_SIZE_RANGE
    if not low <= batch_size <= high:
        raise UsageError(f"the batch size must be between {low} and {high}, not {batch_size}")
    if auto_crop and bind is not None:
        raise UsageError("auto-crop makes a specimen of each shell found; it cannot bind photos to records")
    root = str(Path(folder).absolute())
    paths = find_photos(root)
    if not paths:
        extensions = ", ".join(sorted(PHOTO_EXTENSIONS))
        raise UsageError(f"no photos in {root} or its subfolders (looked for {extensions})")
    labels = FolderLabels(root, label_by, load_backbone()) if label_by else None
    by = by or label_by
    run_id, settled = _open_run(catalog, root, classifier, resume, by)
    pending = [p for p in paths if p not in settled]
    with catalog.session() as session:
        known = frozenset(session.scalars(select(Photo.sha256)))
    cancel = cancel or threading.Event()
    started = time.monotonic()
    processed_now = 0
    counts = _counts(catalog, run_id)
    yield BatchProgress(run_id, RUNNING, len(paths), *counts, 0.0, None)

    seen_in_run: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="shellgui-decode") as pool:
        queue: deque[Future[_Loaded]] = deque()
        source = iter(pending)
        window = batch_size * 2

        def refill() -> None:
            while len(queue) < window and not cancel.is_set():
                nxt = next(source, None)
                if nxt is None:
                    return
                queue.append(pool.submit(_load, nxt, classifier, known, auto_crop))

        refill()
        batch: list[_Loaded] = []
        while queue and not cancel.is_set():
            item = queue.popleft().result()
            refill()
            if item.array is not None and item.sha256:  # only a catalogued photo makes a copy a duplicate
                if item.sha256 in seen_in_run:
                    item.duplicate, item.array = True, None
                seen_in_run.add(item.sha256)
            batch.append(item)
            if len(batch) >= batch_size or not queue:
                results, run = _commit(catalog, run_id, classifier, batch, top_k, len(paths), labels, bind)
                processed_now += len(batch)
                batch = []
                elapsed = time.monotonic() - started
                remaining = len(paths) - (run.done + run.failed + run.skipped)
                eta = elapsed / processed_now * remaining if processed_now else None
                yield BatchProgress(
                    run_id,
                    RUNNING,
                    len(paths),
                    run.done,
                    run.failed,
                    run.skipped,
                    elapsed,
                    eta,
                    tuple(results),
                )
        for future in queue:
            future.cancel()
        if batch:  # cancelled with photos decoded: keep that work rather than redo it on resume
            results, _ = _commit(catalog, run_id, classifier, batch, top_k, len(paths), labels, bind)
            counts = _counts(catalog, run_id)
            yield BatchProgress(
                run_id, RUNNING, len(paths), *counts, time.monotonic() - started, None, tuple(results)
            )
    state = CANCELLED if cancel.is_set() else COMPLETED

    def finish(session: Session) -> None:
        final = session.get(CatalogRun, run_id)
        assert final is not None
        final.status = state
        final.total = len(paths)
        if state == COMPLETED:
            final.finished_at = utcnow()
        ended = "completed" if state == COMPLETED else "stopped (can be resumed)"
        summary = (
            f"cataloguing {root} {ended} (run {run_id}): {final.done} catalogued, "
            f"{final.skipped} already in the catalogue, {final.failed} failed"
        )
        log_catalogue_run(session, by, summary, run_id)

    catalog.write(finish)
    counts = _counts(catalog, run_id)
    yield BatchProgress(run_id, state, len(paths), *counts, time.monotonic() - started, 0.0)


def _counts(catalog: Catalog, run_id: int) -> tuple[int, int, int]:
    with catalog.session() as session:
        run = session.get(CatalogRun, run_id)
        assert run is not None
        return run.done, run.failed, run.skipped


def failed_items(catalog: Catalog, run_id: int) -> list[tuple[str, str]]:
    """The files of a run that could not be catalogued, with their reasons."""
    with catalog.session() as session:
        rows = session.execute(
            select(RunItem.path, RunItem.reason)
            .where(RunItem.run_id == run_id, RunItem.status == FAILED)
            .order_by(RunItem.id)
        )
        return [(p, r or "") for p, r in rows]


@dataclass(frozen=True)
class UnfinishedRun:
    """A run of a folder that was stopped before the end: the next start resumes it."""

    run_id: int
    settled: int
    total: int


def unfinished_run(catalog: Catalog, folder: str | os.PathLike[str]) -> UnfinishedRun | None:
    """The newest run of ``folder`` that did not complete, if any."""
    with catalog.session() as session:
        run = session.scalar(
            select(CatalogRun)
            .where(CatalogRun.folder == str(Path(folder).absolute()), CatalogRun.status != COMPLETED)
            .order_by(CatalogRun.id.desc())
            .limit(1)
        )
        return UnfinishedRun(run.id, run.done + run.failed + run.skipped, run.total) if run else None

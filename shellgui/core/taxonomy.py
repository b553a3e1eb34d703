"""Taxon names: completion and checking against a name backbone, offline by default.

The bundled backbone (``resources/taxonomy/mollusc_names.csv.gz``, from WoRMS via the SeeShell table; see its
``ATTRIBUTION.md``) knows about 9,000 mollusc names, their accepted names, families and WoRMS AphiaIDs. A
user can add names files of their own (``shellgui names --add FILE``); their names extend and override the
bundled ones. A typed name is never refused: an unknown name is kept as typed and marked as unchecked.

:class:`NameBackbone` is the interface the app uses; an online WoRMS or GBIF lookup can implement it later
and be chained in front of the offline table.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shellgui.core import paths
from shellgui.core.errors import UsageError

log = logging.getLogger(__name__)

ACCEPTED, SYNONYM, MISSPELLING, UNKNOWN = "accepted", "synonym", "misspelling", "unknown"
BUNDLED_FILE = "mollusc_names.csv.gz"
WORMS_LSID = "urn:lsid:marinespecies.org:taxname:"
BUNDLED_SOURCE = "WoRMS snapshot"
#: Ranks above family that the bundled table implies (every name in it is a mollusc).
MOLLUSC_RANKS = {"kingdom": "Animalia", "phylum": "Mollusca"}
HIGHER_RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")
_GENUS_ONLY = ("sp", "sp.", "spp", "spp.", "species", "indet", "indet.")


def name_key(name: str) -> str:
    """How names are compared: case, extra spaces and underscores (``Genus_species`` labels) ignored."""
    return " ".join(name.replace("_", " ").split()).casefold()


def tidy_name(name: str) -> str:
    """A typed name written the usual way: single spaces, ``Genus_species`` -> ``Genus species``,
    a capital genus and a lower-case epithet (``conus MARMOREUS`` -> ``Conus marmoreus``)."""
    words = name.replace("_", " ").split()
    if not words:
        return ""
    return " ".join([words[0][:1].upper() + words[0][1:].lower()] + [w.lower() for w in words[1:]])


def rank_of(name: str) -> str:
    """``species`` for a binomial, ``subspecies`` for a trinomial, ``genus`` for one word or ``Genus sp.``."""
    words = name.replace("_", " ").split()
    if len(words) <= 1 or (len(words) == 2 and words[1].lower() in _GENUS_ONLY):
        return "genus"
    return "subspecies" if len(words) >= 3 else "species"


@dataclass(frozen=True)
class NameEntry:
    """One name a backbone knows.

    Attributes:
        name: the name as the source spells it.
        status: ``accepted``, ``synonym`` or ``misspelling``.
        accepted_name: the currently accepted name (the name itself when accepted).
        name_id: a resolvable identifier of the accepted name for Darwin Core ``scientificNameID``
            (``urn:lsid:marinespecies.org:taxname:<AphiaID>``), or empty.
        ranks: higher ranks of the accepted name (``kingdom`` .. ``genus``), as far as known.
        source: where the entry comes from (``WoRMS snapshot`` or a user file's name).
    """

    name: str
    status: str
    accepted_name: str
    name_id: str = ""
    ranks: dict[str, str] = field(default_factory=dict)
    source: str = ""
    common_name: str = ""


@dataclass(frozen=True)
class NameCheck:
    """What a backbone says about a typed name.

    Attributes:
        typed: the name as given.
        status: ``accepted``, ``synonym``, ``misspelling`` or ``unknown``.
        name: the name to record: the accepted name when known, else the typed name tidied.
        rank: ``species``, ``subspecies`` or ``genus``.
        name_id: Darwin Core ``scientificNameID`` of ``name`` (empty when unknown).
        ranks: ``kingdom``, ``phylum``, ``family``, ``genus``... of ``name`` as far as known.
        source: the backbone that knew the name.
    """

    typed: str
    status: str
    name: str
    rank: str
    name_id: str = ""
    ranks: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def known(self) -> bool:
        return self.status != UNKNOWN

    @property
    def family(self) -> str:
        return self.ranks.get("family", "")

    @property
    def note(self) -> str:
        """One line for the record's remarks and the GUI ('' for an accepted name typed as such)."""
        if self.status == UNKNOWN:
            return f"name {self.name!r} not found in the name backbone (recorded as given)"
        if self.status == SYNONYM:
            return f"given as {self.typed.strip()!r}, a synonym of {self.name} ({self.source})"
        if self.status == MISSPELLING:
            return f"given as {self.typed.strip()!r}, a misspelling of {self.name} ({self.source})"
        return ""


class NameBackbone(Protocol):
    """Checks and completes taxon names. The offline table implements it; an online WoRMS/GBIF client can
    implement it too (and fall back to the offline table when the network is down)."""

    def check(self, name: str) -> NameCheck:
        """What is known about ``name``: never raises for an unknown name (status ``unknown``)."""
        ...

    def complete(self, text: str, limit: int = 20) -> list[str]:
        """Names starting with ``text`` (accepted names first), then names containing it."""
        ...

    def names(self) -> list[str]:
        """Every name known offline (for a GUI completer); may be empty for an online-only backbone."""
        ...


class TableBackbone:
    """A backbone held in memory: the bundled table plus any user names files (later ones win)."""

    def __init__(self, entries: Iterable[NameEntry]) -> None:
        self._by_key: dict[str, NameEntry] = {}
        for entry in entries:
            self._by_key[name_key(entry.name)] = entry
        accepted = {name_key(e.accepted_name): e for e in self._by_key.values() if e.status == ACCEPTED}
        self._accepted = accepted
        # A genus is known when it is the genus of a known accepted name; its family when they agree.
        genera: dict[str, set[str]] = {}
        for entry in accepted.values():
            genus = entry.ranks.get("genus", "")
            if genus and rank_of(entry.name) != "genus":
                genera.setdefault(genus, set()).add(entry.ranks.get("family", ""))
        self._genera = genera
        self._sorted = sorted(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def check(self, name: str) -> NameCheck:
        key = name_key(name)
        words = key.split()
        if len(words) == 2 and words[1] in _GENUS_ONLY:
            key = words[0]
        entry = self._by_key.get(key)
        if entry is not None:
            target = self._accepted.get(name_key(entry.accepted_name), entry)
            return NameCheck(
                typed=name,
                status=entry.status,
                name=entry.accepted_name,
                rank=rank_of(entry.accepted_name),
                name_id=target.name_id,
                ranks=dict(target.ranks),
                source=entry.source,
            )
        genus = tidy_name(key)
        if genus in self._genera:
            families = self._genera[genus] - {""}
            ranks = {**_mollusc_ranks_of(self._accepted.values(), genus), "genus": genus}
            if len(families) == 1:
                ranks["family"] = next(iter(families))
            return NameCheck(name, ACCEPTED, genus, "genus", "", ranks, BUNDLED_SOURCE)
        tidy = tidy_name(name)
        ranks = {"genus": tidy.split()[0]} if tidy else {}
        return NameCheck(name, UNKNOWN, tidy, rank_of(tidy) if tidy else "species", "", ranks, "")

    def complete(self, text: str, limit: int = 20) -> list[str]:
        key = name_key(text)
        if not key:
            return []
        start = bisect.bisect_left(self._sorted, key)
        prefix = []
        for k in self._sorted[start:]:
            if not k.startswith(key):
                break
            prefix.append(self._by_key[k])
        prefix.sort(key=lambda e: (e.status != ACCEPTED, e.name))
        found = [e.name for e in prefix]
        if len(found) < limit:
            seen = set(found)
            found += [
                self._by_key[k].name for k in self._sorted if key in k and self._by_key[k].name not in seen
            ]
        return found[:limit]

    def names(self) -> list[str]:
        return [self._by_key[k].name for k in self._sorted]


def _mollusc_ranks_of(entries: Iterable[NameEntry], genus: str) -> dict[str, str]:
    for entry in entries:
        if entry.ranks.get("genus") == genus:
            return {k: v for k, v in entry.ranks.items() if k in ("kingdom", "phylum", "class", "order")}
    return {}


def bundled_entries(path: Path | None = None) -> list[NameEntry]:
    """The names of the bundled table (``resources/taxonomy/mollusc_names.csv.gz``)."""
    path = path or paths.resources_dir() / "taxonomy" / BUNDLED_FILE
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    entries = []
    for r in rows:
        accepted = r["accepted_name"]
        ranks = dict(MOLLUSC_RANKS)
        if r["family"]:
            ranks["family"] = r["family"]
        if rank_of(accepted) != "genus":
            ranks["genus"] = accepted.split()[0]
        entries.append(
            NameEntry(
                name=r["name"],
                status=r["status"],
                accepted_name=accepted,
                name_id=WORMS_LSID + r["accepted_aphia_id"] if r["accepted_aphia_id"] else "",
                ranks=ranks,
                source=BUNDLED_SOURCE,
                common_name=r["common_name"],
            )
        )
    return entries


# Headers accepted in a user's names file (Darwin Core terms or the bundled table's own).
_USER_COLUMNS = {
    "name": ("scientificname", "name", "taxon"),
    "accepted": ("acceptedname", "acceptednameusage", "accepted_name"),
    "name_id": ("scientificnameid", "name_id", "taxonid"),
}


def user_entries(path: Path) -> list[NameEntry]:
    """Names from a user's CSV: a ``scientificName`` (or ``name``) column, optionally ``acceptedName``,
    ``scientificNameID`` and higher ranks (``kingdom``, ``phylum``, ``class``, ``order``, ``family``,
    ``genus``). A row with an accepted name different from its own name is a synonym.

    Raises:
        UsageError: the file cannot be read or has no name column.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the names file ({exc})") from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    headers = {h.strip().lower().replace(" ", ""): h for h in reader.fieldnames or []}

    def column(kind: str) -> str | None:
        return next((headers[c] for c in _USER_COLUMNS[kind] if c in headers), None)

    name_col = column("name")
    if name_col is None:
        raise UsageError(f"{path}: a names file needs a 'scientificName' (or 'name') column")
    accepted_col, id_col = column("accepted"), column("name_id")
    entries = []
    for row in reader:
        name = tidy_name(row.get(name_col) or "")
        if not name:
            continue
        accepted = tidy_name(row.get(accepted_col) or "") if accepted_col else ""
        ranks = {
            rank: (row.get(headers[rank]) or "").strip()
            for rank in HIGHER_RANKS
            if rank in headers and (row.get(headers[rank]) or "").strip()
        }
        if "genus" not in ranks and rank_of(accepted or name) != "genus":
            ranks["genus"] = (accepted or name).split()[0]
        entries.append(
            NameEntry(
                name=name,
                status=SYNONYM if accepted and accepted != name else ACCEPTED,
                accepted_name=accepted or name,
                name_id=(row.get(id_col) or "").strip() if id_col else "",
                ranks=ranks,
                source=path.name,
            )
        )
    if not entries:
        raise UsageError(f"{path}: the names file has no names")
    return entries


def user_names_dir() -> Path:
    """Where ``shellgui names --add`` keeps the user's names files."""
    return paths.data_dir() / "names"


def add_user_names(path: str | Path) -> tuple[Path, int]:
    """Check a user's names file and copy it into :func:`user_names_dir`. Returns the copy and its count."""
    source = Path(path)
    count = len(user_entries(source))
    target = user_names_dir() / (source.stem + ".csv")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    _CACHE.clear()
    return target, count


_CACHE: dict[tuple[tuple[str, float], ...], TableBackbone] = {}


def load_backbone(extra_files: Sequence[str | Path] = ()) -> TableBackbone:
    """The offline backbone: the bundled table, then the user's names files, then ``extra_files``.

    Built once per set of files (a user file that changes is read again). A damaged user file is
    skipped with a log line rather than stopping the app.
    """
    folder = user_names_dir()
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    files += [Path(f) for f in extra_files]
    key = tuple((str(f), f.stat().st_mtime if f.exists() else 0.0) for f in files)
    if key not in _CACHE:
        entries = bundled_entries()
        for f in files:
            try:
                entries += user_entries(f)
            except UsageError as exc:
                if f in extra_files or str(f) in map(str, extra_files):
                    raise
                log.warning("Ignoring names file: %s", exc)
        _CACHE.clear()
        _CACHE[key] = TableBackbone(entries)
    return _CACHE[key]

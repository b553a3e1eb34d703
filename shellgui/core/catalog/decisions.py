"""A person's decision about a specimen, and the rules that keep it explicit.

An "uncertain" answer is never a decision: the curator names a taxon or says "not identifiable", and every
decision carries the name of the person who made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shellgui.core.catalog.schema import NOT_IDENTIFIABLE, Identification, max_length
from shellgui.core.errors import UsageError
from shellgui.core.inference.decision import Prediction


class UndecidedError(UsageError):
    """An "uncertain" answer was offered as a decision: a person must name a taxon or "not identifiable"."""

    def __init__(
        self,
        message: str = "the model is uncertain: choose a taxon (or 'not identifiable'); "
        "its best guess is not an answer",
    ) -> None:
        super().__init__(message)


def require_name(by: str | None) -> str:
    """The name of the person deciding, stripped; refuses an empty one."""
    name = " ".join((by or "").split())
    if not name:
        raise UsageError("who is deciding? Set your name (Preferences, or --by NAME on the command line)")
    longest = max_length(Identification, "identified_by")
    if longest is not None and len(name) > longest:
        raise UsageError(f"a name has at most {longest} characters ({len(name)} given)")
    return name


def guess_rank(name: str, candidates: Iterable[tuple[str, str]] = ()) -> str:
    """The rank of a typed taxon name: from the model's candidates when listed there, else from its form."""
    for candidate, rank in candidates:
        if candidate == name:
            return rank
    words = name.split()
    if name.endswith(" sp.") or len(words) == 1 and not name.endswith("idae"):
        return "genus"
    if len(words) == 1:
        return "family"
    return "species"


@dataclass(frozen=True)
class Decision:
    """What a person decided about a specimen: a taxon at a rank, or "not identifiable" (``taxon=None``).

    Build one with :meth:`named`, :meth:`accept` or :meth:`not_identifiable`; they refuse undecided input.
    """

    taxon: str | None
    rank: str
    score: float | None = None
    #: a note kept with the decision (e.g. the typed name was a synonym), and the original date of a
    #: determination made elsewhere (an import); default: now
    remarks: str | None = None
    decided_at: datetime | None = None
    #: who made the determination when it is not the person recording it (an imported determination)
    identified_by: str | None = None

    @property
    def is_not_identifiable(self) -> bool:
        return self.taxon is None

    @property
    def words(self) -> str:
        return self.taxon or NOT_IDENTIFIABLE

    @classmethod
    def not_identifiable(cls) -> Decision:
        return cls(None, "none", None)

    @classmethod
    def named(
        cls, name: str, prediction: Prediction | None = None, listed: Iterable[Mapping[str, object]] = ()
    ) -> Decision:
        """A taxon a person typed or picked; rank and score come from the model's answer when it lists it.

        Args:
            name: what the person typed or picked ("not identifiable" is understood).
            prediction: the model's answer, fresh from the model.
            listed: or the ``top_k`` stored with an identification (dicts with name, rank, probability).

        Raises:
            UndecidedError: the name is empty (or the word "uncertain").
        """
        name = " ".join(name.split())
        if name.lower() == NOT_IDENTIFIABLE:
            return cls.not_identifiable()
        if not name or name.lower() == "uncertain":
            raise UndecidedError("no taxon given: type or pick a taxon (or 'not identifiable')")
        longest = max_length(Identification, "taxon")
        if longest is not None and len(name) > longest:
            raise UsageError(f"a taxon name has at most {longest} characters ({len(name)} given)")
        candidates: list[tuple[str, str, float]] = []
        if prediction is not None:
            candidates = [(t.name, t.rank, t.probability) for t in prediction.top_k]
            candidates += [(f"{t.name} sp.", "genus", t.probability) for t in prediction.genera]
            candidates += [(t.name, "family", t.probability) for t in prediction.families]
            if prediction.taxon is not None:
                candidates.insert(0, (prediction.taxon, prediction.rank, prediction.score))
        for item in listed:
            probability = item.get("probability")
            candidates.append(
                (
                    str(item.get("name")),
                    str(item.get("rank", "species")),
                    float(probability) if isinstance(probability, (int, float)) else 0.0,
                )
            )
        score = next((p for n, _, p in candidates if n == name), None)
        return cls(name, guess_rank(name, [(n, r) for n, r, _ in candidates]), score)

    @classmethod
    def accept(cls, taxon: str | None, rank: str, score: float | None) -> Decision:
        """Accept an answer as it stands (the model's, or a stored identification).

        Raises:
            UndecidedError: the answer is "uncertain" (no taxon).
        """
        if taxon is None:
            raise UndecidedError()
        return cls(taxon, rank, score)

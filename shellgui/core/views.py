"""When are photos views of one specimen, and when do fused views contradict each other?

Photos dropped together are usually different shells (a drawer photographed one by one), so they are
fused into one specimen only when asked, or when their names say they are views: the same name with a
view suffix (``MZ-1187_A.jpg``/``MZ-1187_B.jpg``, ``cowrie-dorsal.jpg``/``cowrie-ventral.jpg``).
Camera numbering (``IMG_0041``/``IMG_0042``) is not a view suffix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from shellgui.core.percent import percent

#: Words collectors use for the sides of a shell (English; add yours in an issue).
VIEW_WORDS = (
    "dorsal",
    "ventral",
    "lateral",
    "apertural",
    "abapertural",
    "apical",
    "basal",
    "umbilical",
    "front",
    "back",
    "top",
    "bottom",
    "side",
    "left",
    "right",
    "inside",
    "outside",
    "interior",
    "exterior",
)
_SUFFIX = re.compile(r"^(?P<stem>.+?)[ _.\-](?P<view>[A-Za-z]|" + "|".join(VIEW_WORDS) + r")$", re.IGNORECASE)

#: Fused views "disagree strongly" when two of them name different taxa, each this sure of its own.
DISAGREE_PROBABILITY = 0.6

#: The choices for photos dropped together.
VIEWS_NEVER, VIEWS_BY_NAME, VIEWS_ALWAYS = "never", "by-name", "always"


def view_suffix(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """``("MZ-1187", "a")`` for ``MZ-1187_A.jpg``; ``None`` when the name carries no view suffix."""
    match = _SUFFIX.match(PurePath(path).stem)
    if match is None:
        return None
    return match["stem"].lower(), match["view"].lower()


def look_like_views(paths: Sequence[str | os.PathLike[str]]) -> bool:
    """Two or more photos named as views of one thing: one shared stem, each with its own view suffix."""
    if len(paths) < 2:
        return False
    parts = [view_suffix(p) for p in paths]
    if any(p is None for p in parts):
        return False
    stems = {p[0] for p in parts if p is not None}
    views = [p[1] for p in parts if p is not None]
    return len(stems) == 1 and len(set(views)) == len(views)


def fuse_as_views(paths: Sequence[str | os.PathLike[str]], choice: str) -> bool:
    """Whether photos dropped together become one specimen: ``never``, ``always`` or ``by-name``."""
    if choice not in (VIEWS_NEVER, VIEWS_BY_NAME, VIEWS_ALWAYS):
        raise ValueError(f"unknown views choice {choice!r}")
    if len(paths) < 2 or choice == VIEWS_NEVER:
        return False
    return choice == VIEWS_ALWAYS or look_like_views(paths)


@dataclass(frozen=True)
class ViewConflict:
    """Two views of one "specimen" that name different taxa, each with confidence."""

    first: int
    first_label: str
    first_probability: float
    second: int
    second_label: str
    second_probability: float

    def describe(self, paths: Sequence[str]) -> str:
        """One line naming both photos."""
        a, b = PurePath(paths[self.first]).name, PurePath(paths[self.second]).name
        return (
            f"The views disagree: {a} looks like {self.first_label} ({percent(self.first_probability)}), "
            f"{b} like {self.second_label} ({percent(self.second_probability)}). Are they one specimen?"
        )


def view_conflict(
    probabilities: np.ndarray, labels: Sequence[str], threshold: float = DISAGREE_PROBABILITY
) -> ViewConflict | None:
    """The first pair of views whose confident answers differ (``(views, classes)`` probabilities)."""
    probs = np.atleast_2d(probabilities)
    best = probs.argmax(axis=1)
    sure = [i for i in range(len(probs)) if probs[i, best[i]] >= threshold]
    for n, i in enumerate(sure):
        for j in sure[n + 1 :]:
            if best[i] != best[j]:
                return ViewConflict(
                    i, labels[best[i]], float(probs[i, best[i]]), j, labels[best[j]], float(probs[j, best[j]])
                )
    return None

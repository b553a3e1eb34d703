"""Views of one specimen: only when asked or when the names say so; contradicting views are reported."""

from __future__ import annotations

import numpy as np
import pytest

from shellgui.core.views import fuse_as_views, look_like_views, view_conflict, view_suffix


@pytest.mark.parametrize(
    ("names", "views"),
    [
        (["MZ-1187_A.jpg", "MZ-1187_B.jpg"], True),
        (["mz-1187-a.JPG", "MZ-1187-b.jpg", "MZ-1187-c.jpg"], True),
        (["cowrie dorsal.jpg", "cowrie ventral.jpg"], True),
        (["Conus_textile_apertural.png", "Conus_textile_abapertural.png"], True),
        (["IMG_0041.jpg", "IMG_0042.jpg"], False),  # camera numbering
        (["MZ-1_A.jpg", "MZ-2_B.jpg"], False),  # two specimens
        (["MZ-1_A.jpg", "MZ-1_A.png"], False),  # the same view twice
        (["shell.jpg", "shell_B.jpg"], False),
        (["MZ-1_A.jpg"], False),
    ],
)
def test_names_that_look_like_views(names: list[str], views: bool) -> None:
    assert look_like_views([f"/photos/{n}" for n in names]) is views


def test_view_suffix_and_choices() -> None:
    assert view_suffix("/x/MZ-1187_A.jpg") == ("mz-1187", "a")
    assert view_suffix("IMG_0041.jpg") is None
    pair = ["a/IMG_1.jpg", "a/IMG_2.jpg"]
    assert not fuse_as_views(pair, "by-name") and fuse_as_views(pair, "always")
    assert not fuse_as_views(["x_A.jpg", "x_B.jpg"], "never") and fuse_as_views(
        ["x_A.jpg", "x_B.jpg"], "by-name"
    )
    assert not fuse_as_views(["only_A.jpg"], "always")
    with pytest.raises(ValueError, match="views choice"):
        fuse_as_views(pair, "sometimes")


def test_view_conflict_needs_two_confident_different_answers() -> None:
    labels = ["Conus textile", "Harpa major", "Oliva porphyria"]
    agree = np.array([[0.9, 0.05, 0.05], [0.7, 0.2, 0.1]])
    assert view_conflict(agree, labels) is None
    unsure = np.array([[0.9, 0.05, 0.05], [0.4, 0.5, 0.1]])  # the second view is not sure of Harpa
    assert view_conflict(unsure, labels) is None
    clash = np.array([[0.9, 0.05, 0.05], [0.45, 0.5, 0.05], [0.02, 0.9, 0.08]])
    conflict = view_conflict(clash, labels)
    assert conflict is not None and (conflict.first, conflict.second) == (0, 2)
    line = conflict.describe(["/p/MZ-1_A.jpg", "/p/MZ-1_B.jpg", "/p/MZ-1_C.jpg"])
    assert "MZ-1_A.jpg looks like Conus textile (90%)" in line and "MZ-1_C.jpg like Harpa major (90%)" in line

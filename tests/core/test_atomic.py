"""The one atomic-write helper: complete file or nothing, and never through a link or onto a device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shellgui.core.atomic import atomic_path, atomic_write, write_text_atomic
from shellgui.core.errors import UsageError


def test_writes_and_replaces_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["out.txt"]
    assert target.stat().st_mode & 0o044  # readable by others like any new file, not mkstemp's 0600


def test_a_failure_keeps_the_old_file_and_leaves_no_part(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder", "dangling"])
def test_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "out.csv"
    if kind == "symlink":
        target.symlink_to(victim)
    elif kind == "dangling":
        target.symlink_to(tmp_path / "nowhere")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    with pytest.raises(UsageError) as err, atomic_path(target) as tmp:
        tmp.write_text("x")
    assert "\n" not in str(err.value) and str(target) in str(err.value)
    assert victim.read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["out.csv", "victim.txt"]


def test_refuses_a_device_node() -> None:
    with pytest.raises(UsageError, match="not a regular file"), atomic_write("/dev/null") as fh:
        fh.write("x")

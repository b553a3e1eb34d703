"""Write files atomically and safely: the one helper every writer of user-visible files uses.

The data goes to a fresh temporary file next to the target (created exclusively, so a planted symbolic
link cannot redirect it), is flushed to disk, and only then renamed over the target. A failure leaves the
old file untouched and no temporary file behind. The target itself must be a regular file or absent: a
folder, a device node (``/dev/sda``), a FIFO or a symbolic link is refused, never replaced or followed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from shellgui.core.errors import UsageError

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp makes 0600 files, a new export should get the usual 0644


def check_writable_target(target: str | os.PathLike[str]) -> Path:
    """Refuse a target that is not a regular file (or absent); returns it as a :class:`Path`.

    Raises:
        UsageError: the target is a folder, a symbolic link, a device, a FIFO or a socket.
    """
    path = Path(target)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise UsageError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: is a folder; give a file name to write")
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path}: is a symbolic link; refusing to write through it")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: is not a regular file (a device, FIFO or socket); refusing to replace it")
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = ".part") -> Iterator[Path]:
    """A temporary path to write, renamed over ``target`` when the block succeeds.

    For libraries that write to a path themselves (``onnx.save``, ``torch.save``, ``zipfile``).

    Args:
        target: the file to create or replace.
        suffix: ending of the temporary name (some writers choose the format from it).

    Raises:
        UsageError: the target is not a regular file (see :func:`check_writable_target`).
    """
    path = check_writable_target(target)
    if not path.name:
        raise UsageError(f"{target}: is a folder; give a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode) if path.exists() else 0o666 & ~_UMASK)
    except (AttributeError, OSError):  # no fchmod on Windows
        pass
    finally:
        os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # the data must be on disk before the rename makes it visible
            os.fsync(fh.fileno())
        check_writable_target(path)  # nothing was planted there meanwhile
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike[str], mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """Open a file for writing that appears at ``target`` complete, or not at all.

    Args:
        target: the file to create or replace.
        mode: ``"w"`` (text) or ``"wb"`` (bytes).
        **open_args: passed to :func:`open` (``encoding``, ``newline``...); text defaults to UTF-8.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes a new file; mode {mode!r} is not 'w' or 'wb'")
    if mode == "w":
        open_args.setdefault("encoding", "utf-8")
    with atomic_path(target) as tmp, open(tmp, mode, **open_args) as fh:
        yield fh


def write_text_atomic(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write a whole text file atomically (see :func:`atomic_write`)."""
    with atomic_write(target, "w", encoding=encoding) as fh:
        fh.write(text)

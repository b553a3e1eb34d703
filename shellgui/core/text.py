"""Untrusted text made safe: file names that are not UTF-8, and strings printed to a terminal.

File names come from users' folders and shared drives: they may hold bytes that are not UTF-8 (old
Windows or Mac shares), newlines, or terminal escape sequences (``\\x1b]...``) that could rewrite the
screen. The catalogue keeps such names losslessly, and everything shown to a person goes through
:func:`one_line`, so a "one-line" message really is one line of plain text.
"""

from __future__ import annotations

import os
import unicodedata
from urllib.parse import quote, unquote_to_bytes

#: Prefix of a stored path whose bytes are not valid UTF-8 (percent-encoded after it). A real stored
#: path is absolute, so it never starts with this.
ENCODED_PATH_PREFIX = "bytes:"


def path_to_db(path: str) -> str:
    """The catalogue's text for a path: the path itself, or a lossless encoding of its raw bytes
    when it is not valid Unicode (``os.walk`` gives such names with surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return ENCODED_PATH_PREFIX + quote(os.fsencode(path), safe="/")
    return path


def path_from_db(text: str) -> str:
    """The file system path for the catalogue's text (the inverse of :func:`path_to_db`)."""
    if text.startswith(ENCODED_PATH_PREFIX):
        return os.fsdecode(unquote_to_bytes(text[len(ENCODED_PATH_PREFIX) :]))
    return text


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{code:02x}")
    return f"\\u{code:04x}"


def one_line(text: object) -> str:
    """``text`` as one line of printable characters: control characters, terminal escapes, bidi
    overrides and undecodable bytes become visible escapes (``\\x1b``, ``\\n``, ``\\xff``)."""
    out = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp") and ch != "\u200d":
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as a person should see it: one printable line (see :func:`one_line`)."""
    return one_line(os.fspath(path))

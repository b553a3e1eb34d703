"""Typed errors whose message is one plain line a user can act on."""

from __future__ import annotations

from shellgui.core.text import display_path, one_line


class ShellguiError(Exception):
    """Base class: ``str(error)`` is a complete, one-line message for the user."""


class PhotoError(ShellguiError):
    """A photo could not be opened.

    Attributes:
        kind: a short machine-readable reason (``"truncated"``, ``"not_an_image"``, ...).
        path: the file concerned.
    """

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(f"{display_path(path)}: {one_line(message)}")
        self.kind = kind
        self.path = path
        self.reason = message


class ModelError(ShellguiError):
    """A model file is missing, unreadable, has no model card, or its card disagrees with its graph."""


class CatalogError(ShellguiError):
    """The catalogue database cannot be opened or written (locked, newer schema, bad URL, ...)."""


class UsageError(ShellguiError):
    """The user asked for something that makes no sense (bad option, empty input)."""

"""Help: the keyboard shortcuts (one table, also used to bind them) and a short guide."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

# The window's shortcuts, bound by main_window.py and listed in Help from this one place.
OPEN = "Ctrl+O"
PASTE = "Ctrl+V"
EXPORT_CSV = "Ctrl+E"
EXPORT_DWC = "Ctrl+Shift+E"
PREFERENCES = "Ctrl+,"
QUIT = "Ctrl+Q"
HELP = "F1"
ACCEPT = "Ctrl+Return"
UNDO = "Ctrl+Z"
FIND = "Ctrl+F"
TABS = ("Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4")
CROP = "C"
AUTO_CROP = "Shift+C"
MEASURE = "M"

SHORTCUTS: tuple[tuple[str, str], ...] = (
    (OPEN, "Open photos"),
    (PASTE, "Paste a photo (or copied photo files)"),
    (f"{TABS[0]} … {TABS[-1]}", "Identify, Catalogue, Batch, Review tab"),
    (ACCEPT, "Identify: accept the taxon in the form (recorded as checked by you)"),
    (UNDO, "Identify and Review: undo your last decision"),
    (CROP, "Identify: crop tool on/off (drag a box; only the box is identified and saved)"),
    ("Escape", "Identify, crop tool: clear the crop (the whole photo again)"),
    (AUTO_CROP, "Identify: auto-crop (find the shells on a plain background)"),
    (MEASURE, "Identify: measuring tool (a line along the ruler + its mm, then across the shell)"),
    (FIND, "Catalogue: search"),
    ("Enter", "Review: accept a decided answer"),
    ("1 – 9", "Review: pick that alternative"),
    ("N / S", "Review: not identifiable / skip"),
    ("↑ / ↓", "Review: previous / next"),
    (EXPORT_CSV, "Export the catalogue as CSV"),
    (EXPORT_DWC, "Export a Darwin Core archive"),
    (PREFERENCES, "Preferences"),
    (HELP, "This help"),
    (QUIT, "Quit"),
)

GUIDE = """
<h3>A short guide</h3>
<ol>
<li><b>Identify</b> — drop photos of shells on the window (or paste, or File ▸ Open). Each photo is a
specimen; photos named as views of one shell (<code>MZ-12_A.jpg</code>, <code>MZ-12_B.jpg</code>,
<code>…dorsal</code>/<code>…ventral</code>) are fused into one answer. A small shell in a big photo: drag
a box with <b>✂ Crop</b>, or <b>Auto-crop</b> (several shells become separate specimens or views). Check the answer, fill in what you
know, then <b>Accept</b> (checked by you), <b>Save unchecked</b> (for later review) or <b>Not identifiable</b>.</li>
<li><b>Batch</b> — choose a folder (or drop one on the window) and Start: every photo in it is identified and
catalogued. Cancel any time; starting again resumes.</li>
<li><b>Review</b> — go through the unchecked answers, least confident first, with the keys below.</li>
<li><b>Catalogue</b> — search, filter and sort all specimens; double-click one to edit it and see its
history. File ▸ Export writes CSV or a Darwin Core archive for GBIF.</li>
</ol>
<p>The model only knows the taxa it was trained on (Models ▸ Model card lists them). An answer it is unsure
of is shown as <i>uncertain</i>: decide it yourself, never accept a guess.</p>
"""


def help_html() -> str:
    rows = "".join(
        f"<tr><td><b>{html.escape(keys)}</b>&nbsp;&nbsp;</td><td>{html.escape(what)}</td></tr>"
        for keys, what in SHORTCUTS
    )
    return f"{GUIDE}<h3>Keyboard shortcuts</h3><table cellpadding='2'>{rows}</table>"


def show_help(parent: QWidget | None = None) -> QDialog:
    """The guide and the shortcuts in a non-modal window."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("shellgui help")
    dialog.resize(640, 620)
    text = QTextBrowser()
    text.setHtml(help_html())
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.show()
    return dialog
